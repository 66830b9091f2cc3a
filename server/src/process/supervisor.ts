import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Logger } from '../log.js';
import { spawn, type RunAs } from './spawn.js';

export type ProcessState = 'starting' | 'running' | 'restarting' | 'failed' | 'stopped';

export interface SupervisedOptions {
  /** Short name used in logs and /health. */
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Run as this user instead of the server's own. */
  runAs?: RunAs | null;
  logger: Logger;
  /** Restart after an unexpected exit (default true). */
  restart?: boolean;
  /** Give up after this many restarts within `restartWindowMs` (default 5 in 30 s). */
  maxRestarts?: number;
  restartWindowMs?: number;
  /** Delay before a restart (default 250 ms, doubled per recent restart, capped at 5 s). */
  restartDelayMs?: number;
  /** Keep this many bytes of stderr to log when the process dies (default 4096). */
  stderrTail?: number;
  /** Resolves when the process is ready to use; rejects/throws to count as a failed start. */
  ready?: (child: ChildProcess) => Promise<void>;
  /** stdout handling: ignored unless given. */
  onStdout?: (chunk: Buffer) => void;
}

export interface SupervisedEvents {
  /** Emitted after each (re)start once `ready` resolved. */
  started: [pid: number];
  /** Emitted on every unexpected exit, before any restart. */
  exited: [code: number | null, signal: NodeJS.Signals | null, stderr: string];
  /** Emitted once restarts are exhausted. */
  failed: [reason: string];
}

/**
 * Process groups still running. Detached children outlive a Node process that exits without
 * close() (an uncaught exception, process.exit()), and nothing here reaps orphans, so the
 * groups are killed from an 'exit' hook (synchronous kills are all it can do).
 */
const liveGroups = new Set<number>();
process.once('exit', () => {
  for (const pid of liveGroups) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/**
 * Runs one child process in its own process group, notices its exit, logs its stderr tail
 * and restarts it with backoff. Killing the group (not just the pid) matters: helpers like
 * gst-launch or Xvfb may fork, and this machine's PID 1 does not reap orphans.
 */
export class SupervisedProcess extends EventEmitter<SupervisedEvents> {
  private child: ChildProcess | null = null;
  /** The child that finished start-up; only its exit triggers a restart. */
  private live: ChildProcess | null = null;
  private _state: ProcessState = 'stopped';
  private restarts: number[] = [];
  private stderrBuf = '';
  private closed = false;
  private restartTimer: NodeJS.Timeout | null = null;
  private exitWaiters: Array<() => void> = [];

  constructor(private readonly opts: SupervisedOptions) {
    super();
  }

  get state(): ProcessState {
    return this._state;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get name(): string {
    return this.opts.name;
  }

  /** Recent stderr output (bounded), for health reports. */
  get stderr(): string {
    return this.stderrBuf;
  }

  /**
   * Starts the process and waits until it is ready. A failed first start rejects and leaves
   * the process `failed`: restarts are for processes that once worked, so a bad command line
   * or a broken environment surfaces to the caller instead of looping in the background.
   */
  async start(): Promise<void> {
    if (this.closed) throw new Error(`${this.opts.name}: start after close`);
    this._state = 'starting';
    try {
      await this.spawnOnce();
    } catch (err) {
      if (!this.closed) this._state = 'failed';
      throw err;
    }
  }

  private async spawnOnce(): Promise<void> {
    const { logger, name } = this.opts;
    const tail = this.opts.stderrTail ?? 4096;
    this.stderrBuf = '';
    const child = spawn(this.opts.command, this.opts.args, {
      env: this.opts.env ?? process.env,
      cwd: this.opts.cwd,
      runAs: this.opts.runAs,
      detached: true,
      stdio: ['ignore', this.opts.onStdout ? 'pipe' : 'ignore', 'pipe'],
    });
    this.child = child;
    if (child.pid !== undefined) liveGroups.add(child.pid);
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderrBuf = (this.stderrBuf + chunk.toString('utf8')).slice(-tail);
    });
    if (this.opts.onStdout) child.stdout?.on('data', this.opts.onStdout);
    const spawned = new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    // A child that dies while starting fails the start at once instead of leaving it to
    // whatever timeout `ready` has.
    const died = new Promise<never>((_resolve, reject) => {
      child.once('exit', (code, signal) => reject(new Error(`${name} exited during start-up (${signal ?? code})`)));
    });
    died.catch(() => {}); // only raced while starting; later exits go through onExit
    child.once('exit', (code, signal) => this.onExit(child, code, signal));
    try {
      await Promise.race([spawned, died]);
      if (this.opts.ready) await Promise.race([this.opts.ready(child), died]);
    } catch (err) {
      if (!this.closed) logger.error({ err, process: name, stderr: this.stderrBuf }, 'process failed to start');
      // Never spawned: no 'exit' will come, so nothing is left for close() to wait on.
      if (child.pid === undefined && this.child === child) this.child = null;
      this.killGroup(child, 'SIGKILL');
      throw err;
    }
    if (this.child !== child || this.closed) return;
    this.live = child;
    this._state = 'running';
    logger.info({ process: name, pid: child.pid }, 'process started');
    this.emit('started', child.pid!);
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    // The group may still hold forked helpers.
    this.killGroup(child, 'SIGKILL');
    if (child.pid !== undefined) liveGroups.delete(child.pid);
    if (this.child === child) this.child = null;
    const waiters = this.exitWaiters;
    this.exitWaiters = [];
    waiters.forEach((w) => w());
    // Only a child that got through start-up is restarted from here: a failed start is
    // reported by spawnOnce() to its caller, and handling it twice used to schedule two
    // restarts at once (and restart processes whose first start() had already rejected).
    const wasLive = this.live === child;
    if (wasLive) this.live = null;
    if (this.closed || !wasLive) return;
    const { logger, name } = this.opts;
    logger.warn({ process: name, code, signal, stderr: this.stderrBuf }, 'process exited');
    // Decide first, so 'exited' listeners already see the state that follows.
    const giveUp = this.opts.restart === false ? `exited with ${signal ?? code}` : this.restartsExhausted();
    this._state = giveUp ? 'failed' : 'restarting';
    this.emit('exited', code, signal, this.stderrBuf);
    if (giveUp) this.fail(giveUp);
    else this.scheduleRestart();
  }

  /** Why restarting is pointless now (too many recent restarts), or null. */
  private restartsExhausted(): string | null {
    const now = Date.now();
    const windowMs = this.opts.restartWindowMs ?? 30_000;
    this.restarts = this.restarts.filter((t) => now - t < windowMs);
    if (this.restarts.length < (this.opts.maxRestarts ?? 5)) return null;
    return `restarted ${this.restarts.length} times in ${windowMs} ms`;
  }

  private fail(reason: string): void {
    this._state = 'failed';
    this.opts.logger.error({ process: this.opts.name, reason }, 'process failed; giving up');
    this.emit('failed', reason);
  }

  private scheduleRestart(): void {
    const delay = Math.min((this.opts.restartDelayMs ?? 250) * 2 ** this.restarts.length, 5000);
    this.restarts.push(Date.now());
    this._state = 'restarting';
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.closed) return;
      this.spawnOnce().catch(() => {
        if (this.closed) return;
        const giveUp = this.restartsExhausted();
        if (giveUp) this.fail(giveUp);
        else this.scheduleRestart();
      });
    }, delay);
  }

  private killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // group already gone
    }
  }

  /** Sends a signal to the running process group (used by tests to simulate crashes). */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.child) this.killGroup(this.child, signal);
  }

  /** Stops the process (SIGTERM, then SIGKILL after `graceMs`); idempotent. */
  async close(graceMs = 2000): Promise<void> {
    this.closed = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    const child = this.child;
    this._state = 'stopped';
    if (!child || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.exitWaiters.push(resolve));
    this.killGroup(child, 'SIGTERM');
    const timer = setTimeout(() => this.killGroup(child, 'SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}
