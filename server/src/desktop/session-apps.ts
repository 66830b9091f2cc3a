import { EventEmitter } from 'node:events';
import type { Logger } from '../log.js';
import type { RunAs } from '../process/spawn.js';
import { SupervisedProcess, type ProcessState } from '../process/supervisor.js';
import { waitForAppWindow } from './app-window.js';
import { waitForWindowManager } from './window-manager-ready.js';

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

/** A window manager that sets no WM_STATE (or hangs) does not hold the app back longer than this. */
const WM_READY_TIMEOUT_MS = 5000;

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
  /** Ends the waits for the window manager when the apps close. */
  private readonly closed = new AbortController();
  private starting = true;
  private appStartedAt = 0;

  private constructor(
    private readonly procs: Map<string, SupervisedProcess>,
    private readonly opts: SessionAppsOptions,
  ) {}

  static async start(opts: SessionAppsOptions): Promise<SessionApps> {
    const env: NodeJS.ProcessEnv = { ...process.env, DISPLAY: opts.display };
    if (opts.pulseServer) env.PULSE_SERVER = opts.pulseServer;
    const procs = new Map<string, SupervisedProcess>();
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
    const wm = procs.get('window_manager');
    const app = procs.get('app');
    wm?.on('started', () => apps.windowManagerRestarted());
    app?.on('started', (pid) => {
      apps.appStartedAt = Date.now();
      apps.awaitWindow(pid);
    });
    app?.on('exited', () => apps.waiting?.abort());
    try {
      // The window manager first, and managing windows, so the app's window is managed from the start.
      if (wm) {
        await wm.start();
        await apps.windowManagerReady();
      }
      if (app) {
        await app.start();
        await apps.windowWait;
      }
    } catch (err) {
      await apps.close();
      throw err;
    } finally {
      apps.starting = false;
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
    this.closed.abort();
    this.waiting?.abort();
    this.closing ??= Promise.all([...this.procs.values()].map((p) => p.close())).then(() => undefined);
    return this.closing;
  }

  /** Resolves with the time the window manager was seen managing windows (0: it was not, in time). */
  private async windowManagerReady(): Promise<number> {
    const { display, logger } = this.opts;
    const ready = await waitForWindowManager({ display, timeoutMs: WM_READY_TIMEOUT_MS, signal: this.closed.signal }).catch(
      (err: unknown) => {
        logger.debug({ err }, 'window manager not probed');
        return false;
      },
    );
    if (!ready && !this.closed.signal.aborted) logger.warn('the window manager manages no window yet; starting the app anyway');
    return ready ? Date.now() : 0;
  }

  /**
   * After an X server restart the window manager and the app come back together, and the
   * app's window may be mapped while the window manager is starting, and dropped. An app
   * that started before the window manager was ready and shows no window yet is restarted.
   */
  private windowManagerRestarted(): void {
    if (this.starting) return;
    void this.windowManagerReady().then((readyAt) => {
      const app = this.procs.get('app');
      if (!readyAt || !app || app.state !== 'running' || this.window === 'shown' || this.appStartedAt >= readyAt) return;
      this.opts.logger.info('window manager restarted: restarting the app, whose window it may have missed');
      app.kill('SIGTERM');
    });
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
