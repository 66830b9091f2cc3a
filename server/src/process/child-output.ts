/**
 * Start-up checks on a child's stdout and lifetime, for `SupervisedProcess` `ready` callbacks.
 * The supervisor stops waiting on its own when the child dies, so whatever these leave behind
 * (a timer, a stream listener) would outlive the child: every way out of them removes both.
 */
import type { ChildProcess } from 'node:child_process';

/** How much of the stream is kept to match text split across chunks. */
const TAIL = 512;

interface Watch<T> {
  timeoutMs: number;
  /** What the timeout means: a value to resolve with, or the error to reject with. */
  onTimeout(): { value: T } | Error;
  /** Why an exit before the end is an error. */
  exitReason: string;
  /** Starts watching; calls `done` on success and returns how to stop watching. */
  watch?(done: (value: T) => void): () => void;
}

/** Runs a `Watch` until it succeeds, times out or the child exits, then cleans everything up. */
function untilChild<T>(child: ChildProcess, w: Watch<T>): Promise<T> {
  // Output can still arrive after 'exit', so the child may be gone before a second watch starts.
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.reject(new Error(`exited (${child.signalCode ?? child.exitCode}) ${w.exitReason}`));
  }
  return new Promise<T>((resolve, reject) => {
    let unwatch = (): void => {};
    const finish = (outcome: { value: T } | Error) => {
      clearTimeout(timer);
      child.off('exit', onExit);
      unwatch();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome.value);
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      finish(new Error(`exited (${signal ?? code}) ${w.exitReason}`));
    const timer = setTimeout(() => finish(w.onTimeout()), w.timeoutMs);
    child.once('exit', onExit);
    if (w.watch) unwatch = w.watch((value) => finish({ value }));
  });
}

/**
 * Resolves with the first match of `pattern` in the child's stdout (which must be piped).
 * Rejects when the child exits first or nothing matched within `timeoutMs`.
 */
export function waitForOutput(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  const stdout = child.stdout;
  if (!stdout) return Promise.reject(new Error('stdout is not piped'));
  return untilChild<RegExpExecArray>(child, {
    timeoutMs,
    onTimeout: () => new Error(`printed nothing matching ${pattern} within ${timeoutMs} ms`),
    exitReason: `before printing ${pattern}`,
    watch(done) {
      let seen = '';
      const onData = (chunk: Buffer) => {
        seen = (seen + chunk.toString('utf8')).slice(-TAIL);
        const match = pattern.exec(seen);
        if (match) done(match);
      };
      stdout.on('data', onData);
      return () => stdout.off('data', onData);
    },
  });
}

/** Resolves when the child is still running after `ms`; rejects as soon as it exits. */
export function staysAlive(child: ChildProcess, ms: number): Promise<void> {
  return untilChild<void>(child, {
    timeoutMs: ms,
    onTimeout: () => ({ value: undefined }),
    exitReason: `within ${ms} ms`,
  });
}
