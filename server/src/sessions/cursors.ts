import type { Logger } from '../log.js';
import type { SessionManager } from './manager.js';
import type { Session } from './session.js';
import type { Settings } from './types.js';

export interface Cursor {
  x: number;
  y: number;
}

export interface InactiveCursorsOptions {
  sessions: SessionManager;
  logger: Logger;
  /** Tick period (contract: 750 ms). */
  intervalMs?: number;
  /** Samples kept per session between two ticks; older ones are dropped first. */
  maxSamples?: number;
}

/**
 * Inactive cursors (contract §5.3 `session/cursors`): pointer positions of sessions that
 * are not host, gathered between ticks and sent to whoever may see them. The ticker only
 * runs while the room's `inactive_cursors` setting is on.
 */
export class InactiveCursors {
  private samples = new Map<Session, Cursor[]>();
  private timer: NodeJS.Timeout | null = null;
  /** The previous tick sent `[]`: further empty ticks send nothing. */
  private lastEmpty = false;
  private closed = false;
  private readonly onSettings = (next: Settings, previous: Settings) => {
    if (next.inactive_cursors === previous.inactive_cursors) return;
    if (next.inactive_cursors) this.start();
    else this.stop();
  };
  private readonly onGone = (session: Session) => {
    this.samples.delete(session);
  };

  constructor(private readonly opts: InactiveCursorsOptions) {
    opts.sessions.on('settings', this.onSettings);
    opts.sessions.on('deleted', this.onGone);
    if (opts.sessions.settings.inactive_cursors) this.start();
  }

  /** A pointer move of a non-host; kept only when the room and its profile allow it. */
  record(session: Session, x: number, y: number): void {
    const { sessions } = this.opts;
    if (!this.timer || sessions.host === session || !session.profile.sends_inactive_cursor) return;
    let list = this.samples.get(session);
    if (!list) this.samples.set(session, (list = []));
    list.push({ x, y });
    if (list.length > (this.opts.maxSamples ?? 32)) list.shift();
  }

  private start(): void {
    if (this.timer || this.closed) return;
    this.lastEmpty = false;
    this.timer = setInterval(() => this.tick(), this.opts.intervalMs ?? 750);
  }

  /** Turned off: watchers get one `[]` so they drop the cursors they draw. */
  private stop(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = null;
    this.samples.clear();
    this.send([]);
  }

  private tick(): void {
    const collected = this.samples;
    this.samples = new Map();
    if (collected.size === 0 && this.lastEmpty) return;
    this.lastEmpty = collected.size === 0;
    this.send([...collected].map(([session, cursors]) => ({ id: session.id, cursors })));
  }

  private send(payload: Array<{ id: string; cursors: Cursor[] }>): void {
    this.opts.sessions.broadcast('session/cursors', payload, (s) => s.profile.can_see_inactive_cursors);
  }

  /** Stops the ticker; idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.samples.clear();
    this.opts.sessions.off('settings', this.onSettings);
    this.opts.sessions.off('deleted', this.onGone);
  }
}
