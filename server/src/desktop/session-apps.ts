import type { Logger } from '../log.js';
import { SupervisedProcess, type ProcessState } from '../process/supervisor.js';

export interface SessionAppsOptions {
  display: string;
  /** Window manager command line; '' or absent: none. */
  windowManager?: string;
  /** Application command line; '' or absent: none. */
  app?: string;
  /** PulseAudio socket for the apps, when we run one. */
  pulseServer?: string | null;
  logger: Logger;
}

/**
 * The programs that make up the visible desktop: a window manager and one application,
 * each supervised. They die with the X server and come back through the supervisor's
 * restarts once it is up again; an application the user closes is started again too.
 */
export class SessionApps {
  private closing: Promise<void> | null = null;

  private constructor(private readonly procs: Map<string, SupervisedProcess>) {}

  static async start(opts: SessionAppsOptions): Promise<SessionApps> {
    const env: NodeJS.ProcessEnv = { ...process.env, DISPLAY: opts.display };
    if (opts.pulseServer) env.PULSE_SERVER = opts.pulseServer;
    const procs = new Map<string, SupervisedProcess>();
    // Window manager first, so the application's window is managed from the start.
    for (const [name, commandLine] of [
      ['window_manager', opts.windowManager],
      ['app', opts.app],
    ] as const) {
      if (!commandLine?.trim()) continue;
      procs.set(
        name,
        new SupervisedProcess({
          name,
          logger: opts.logger,
          // A shell parses the command line (quotes, variables); exec leaves one process.
          command: '/bin/sh',
          args: ['-c', `exec ${commandLine}`],
          env,
        }),
      );
    }
    const apps = new SessionApps(procs);
    try {
      for (const proc of procs.values()) await proc.start();
    } catch (err) {
      await apps.close();
      throw err;
    }
    return apps;
  }

  /** Component → process state, for the configured components. */
  health(): Record<string, ProcessState> {
    return Object.fromEntries([...this.procs].map(([name, proc]) => [name, proc.state]));
  }

  on(event: 'started' | 'exited' | 'failed', listener: () => void): this {
    for (const proc of this.procs.values()) proc.on(event, () => listener());
    return this;
  }

  close(): Promise<void> {
    this.closing ??= Promise.all([...this.procs.values()].map((p) => p.close())).then(() => undefined);
    return this.closing;
  }
}
