/**
 * The server under test as a child process (so its CPU is its own), in its own process group.
 * Teardown is SIGTERM to the group (the server closes its encoders and X server itself), then
 * SIGKILL to whatever of its tree is still there: its helpers run in process groups of their
 * own, which a group kill of the server alone would miss.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { alive, descendants } from './proc.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface ServerProcess {
  readonly pid: number;
  readonly display: string;
  readonly url: string;
  /** Parsed JSON log lines, in order. */
  readonly logs: Array<Record<string, unknown>>;
  /** Every process ever seen in the server's tree (for the orphan check). */
  readonly seen: Set<number>;
  /** Live descendants of the server process, recorded in `seen`. */
  tree(): number[];
  stop(): Promise<void>;
  /** Synchronous last resort for exit paths: SIGKILL to the server's group and tree. */
  killNow(): void;
}

/** Servers started and not yet stopped, including those still starting. */
const live = new Map<number, { stop(): Promise<void>; killNow(): void }>();

// Runs ahead of any other exit listener (tests/helpers/viewer.ts ends the process from its
// own): a bench that dies must not leave an X server and encoders behind.
process.prependListener('exit', () => {
  for (const server of live.values()) server.killNow();
});

/** Stops every server this process started (for signal handlers and failure paths). */
export async function stopAllServers(): Promise<void> {
  await Promise.allSettled([...live.values()].map((s) => s.stop()));
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

export function startServer(flags: string[], timeoutMs = 30_000): Promise<ServerProcess> {
  const env = { ...process.env };
  // The server would attach to an inherited display instead of starting its own X server.
  delete env.DISPLAY;
  const child: ChildProcess = spawn(
    process.execPath,
    [
      // BENCH_CPU_PROF=<dir>: a V8 CPU profile of each server, written when it exits.
      ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []),
      '--import', 'tsx',
      'server/src/main.ts',
      '--server.bind', '127.0.0.1:0',
      '--desktop.window_manager', '',
      '--desktop.app', '',
      '--webrtc.iceservers.frontend', '[{"urls":["stun:127.0.0.1:3478"]}]',
      // No public address lookup: the bench stays on loopback.
      '--webrtc.ip_retrieval_url', '',
      ...flags,
    ],
    { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const pid = child.pid!;
  const logs: Array<Record<string, unknown>> = [];
  const stderr: string[] = [];
  const seen = new Set<number>();
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => {
    exited = true;
    resolve();
  }));

  const tree = (): number[] => {
    const pids = descendants(pid).map((p) => p.pid);
    for (const p of pids) seen.add(p);
    return pids;
  };
  const killTree = (signal: NodeJS.Signals) => {
    const pids = tree();
    killQuietly(-pid, signal);
    for (const p of pids) killQuietly(-p, signal);
    for (const p of pids) killQuietly(p, signal);
  };
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      tree();
      if (!exited) {
        killQuietly(-pid, 'SIGTERM');
        await Promise.race([exit, new Promise((r) => setTimeout(r, 8000))]);
      }
      killTree('SIGKILL');
      // Give the kernel a moment to reap before the caller checks for orphans.
      const deadline = Date.now() + 3000;
      while ([...seen].some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      live.delete(pid);
    })());
  const killNow = () => {
    if (!stopping || live.has(pid)) killTree('SIGKILL');
  };
  live.set(pid, { stop, killNow });

  return new Promise((resolve, reject) => {
    let display = '';
    let port = 0;
    let ready = false;
    const fail = (err: Error) => {
      clearTimeout(timer);
      void stop().then(() => reject(new Error(`${err.message}\n--- server stderr ---\n${stderr.slice(-20).join('\n')}`)));
    };
    const timer = setTimeout(() => fail(new Error(`server not ready within ${timeoutMs} ms`)), timeoutMs);
    child.once('error', fail);
    void exit.then(() => {
      if (!port || !display) fail(new Error(`server exited early (code ${child.exitCode})`));
    });
    createInterface({ input: child.stderr! }).on('line', (line) => {
      stderr.push(line);
      if (stderr.length > 200) stderr.shift();
    });
    // Always drained: a full pipe would stall the server's logging and with it the server.
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      logs.push(rec);
      if (logs.length > 5000) logs.splice(0, 1000);
      if (rec.msg === 'desktop ready') display = String(rec.display);
      if (rec.msg === 'http listening') port = Number(rec.port);
      if (display && port && !ready) {
        ready = true;
        clearTimeout(timer);
        resolve({ pid, display, url: `http://127.0.0.1:${port}`, logs, seen, tree, stop, killNow });
      }
    });
  });
}
