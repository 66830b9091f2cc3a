import { EventEmitter } from 'node:events';
import type { Logger } from '../log.js';
import type { RunAs } from '../process/spawn.js';
import { SupervisedProcess, type ProcessState } from '../process/supervisor.js';
import { waitForAppWindow } from './app-window.js';

/** A program to start: an executable (looked up on PATH) and its arguments. */
export interface Launch {
  command: string;
  args: string[];
}

/** A user's command line ('' or blank: none), parsed by a shell (quotes, variables). */
export function commandLine(line: string | undefined): Launch | null {
  if (!line?.trim()) return null;
  // exec leaves one process: the supervisor's pid is the program's, which its window names.
  return { command: '/bin/sh', args: ['-c', `exec ${line}`] };
}

/**
 * What /health shows for the app: the process state, except that a running app counts only
 * once its window is mapped: `waiting` until then, `no_window` when it did not show one in time.
 */
export type AppState = ProcessState | 'waiting' | 'no_window';

export interface SessionAppsOptions {
  display: string;
  windowManager?: Launch | null;
  app?: Launch | null;
  /** PulseAudio socket for the apps, when we run one. */
  pulseServer?: string | null;
  /** Unprivileged user to run them as (null: the server's own user). */
  runAs?: RunAs | null;
  /**
   * How long the app may take to map its window after each start before /health calls it
   * `no_window` (default 30 s); start() waits for the window at most this long.
   */
  windowTimeoutMs?: number;
  logger: Logger;
}

type WindowState = 'waiting' | 'shown' | 'no_window';

/**
 * The programs that make up the visible desktop: a window manager and one application,
 * each supervised. They die with the X server and come back through the supervisor's
 * restarts once it is up again; an application the user closes is started again too.
 * After every start of the application its window is awaited, so that nobody is told the
 * desktop is ready while it still shows an empty screen.
 */
export class SessionApps {
  private closing: Promise<void> | null = null;
  private window: WindowState = 'waiting';
  private waiting: AbortController | null = null;
  private windowWait: Promise<void> = Promise.resolve();
  private readonly events = new EventEmitter<{ window: [] }>();

  private constructor(
    private readonly procs: Map<string, SupervisedProcess>,
    private readonly opts: SessionAppsOptions,
  ) {}

  static async start(opts: SessionAppsOptions): Promise<SessionApps> {
    const env: NodeJS.ProcessEnv = { ...process.env, DISPLAY: opts.display };
    if (opts.pulseServer) env.PULSE_SERVER = opts.pulseServer;
    const procs = new Map<string, SupervisedProcess>();
    // Window manager first, so the application's window is managed from the start.
    for (const [name, launch] of [
      ['window_manager', opts.windowManager],
      ['app', opts.app],
    ] as const) {
      if (!launch) continue;
      procs.set(
        name,
        new SupervisedProcess({ name, logger: opts.logger, command: launch.command, args: launch.args, env, runAs: opts.runAs }),
      );
    }
    const apps = new SessionApps(procs, opts);
    const app = procs.get('app');
    app?.on('started', (pid) => apps.awaitWindow(pid));
    app?.on('exited', () => apps.waiting?.abort());
    try {
      for (const proc of procs.values()) await proc.start();
      await apps.windowWait;
    } catch (err) {
      await apps.close();
      throw err;
    }
    return apps;
  }

  /** Component → state, for the configured components. */
  health(): Record<string, AppState> {
    const out: Record<string, AppState> = Object.fromEntries([...this.procs].map(([name, proc]) => [name, proc.state]));
    if (out.app === 'running' && this.window !== 'shown') out.app = this.window;
    return out;
  }

  /** `window`: the app's window was found, or is late (a new health state either way). */
  on(event: 'started' | 'exited' | 'failed' | 'window', listener: () => void): this {
    if (event === 'window') this.events.on('window', listener);
    else for (const proc of this.procs.values()) proc.on(event, () => listener());
    return this;
  }

  close(): Promise<void> {
    this.waiting?.abort();
    this.closing ??= Promise.all([...this.procs.values()].map((p) => p.close())).then(() => undefined);
    return this.closing;
  }

  private awaitWindow(pid: number): void {
    this.waiting?.abort();
    const controller = new AbortController();
    this.waiting = controller;
    this.window = 'waiting';
    const timeoutMs = this.opts.windowTimeoutMs ?? 30_000;
    const started = Date.now();
    const current = () => !controller.signal.aborted && this.waiting === controller;
    let settle!: () => void;
    // What start() waits for: the window, or the timeout.
    this.windowWait = new Promise<void>((resolve) => (settle = resolve));
    const onLate = () => {
      settle();
      if (!current()) return;
      this.window = 'no_window';
      this.opts.logger.warn({ pid, timeoutMs }, 'the app shows no window yet; /health reports it until it does');
      this.events.emit('window');
    };
    waitForAppWindow({ display: this.opts.display, pid, timeoutMs, onLate, signal: controller.signal })
      .catch((err: unknown) => {
        this.opts.logger.warn({ err }, 'cannot watch for the app window');
        return null;
      })
      .then((wid) => {
        settle();
        // A newer start (or close) took over: its own wait reports.
        if (!current()) return;
        this.waiting = null;
        this.window = wid === null ? 'no_window' : 'shown';
        if (wid !== null) this.opts.logger.info({ pid, window: wid, ms: Date.now() - started }, 'app window shown');
        this.events.emit('window');
      });
  }
}
