import type { Logger } from '../log.js';
import type { SessionManager } from './manager.js';
import type { Session } from './session.js';

export interface SessionExpiryOptions {
  sessions: SessionManager;
  /** `session.expire_disconnected` in ms; must be > 0. */
  ttlMs: number;
  logger: Logger;
}

/** setTimeout fires at once past this; longer waits are taken in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Pending {
  timer: NodeJS.Timeout;
  /** Epoch ms since which the session has been without a WebSocket. */
  since: number;
}

/**
 * Deletes sessions that stay unused (no WebSocket and no authenticated REST request) for
 * `ttlMs`, with the usual `session/deleted` broadcast. Meant for the multiuser and noauth
 * providers, where every login mints a new session id, so otherwise each login would leave
 * a session behind for good: in the session list, in every `system/init`, in `session.file`.
 */
export class SessionExpiry {
  private readonly pending = new Map<Session, Pending>();
  private closed = false;

  private readonly onUnused = (session: Session) => this.schedule(session, Date.now());
  private readonly onBack = (session: Session) => this.cancel(session);

  constructor(private readonly opts: SessionExpiryOptions) {
    const { sessions } = opts;
    sessions.on('created', this.onUnused);
    sessions.on('disconnected', this.onUnused);
    sessions.on('connected', this.onBack);
    sessions.on('deleted', this.onBack);
    // Sessions restored from session.file come back without a socket.
    for (const session of sessions.list()) if (!session.state.is_connected) this.onUnused(session);
  }

  /** Sessions currently waiting to expire. */
  get size(): number {
    return this.pending.size;
  }

  private schedule(session: Session, since: number, delay = this.opts.ttlMs): void {
    this.cancel(session);
    const timer = setTimeout(() => this.expire(session), Math.min(delay, MAX_TIMER_MS));
    timer.unref();
    this.pending.set(session, { timer, since });
  }

  private cancel(session: Session): void {
    const entry = this.pending.get(session);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.pending.delete(session);
  }

  private expire(session: Session): void {
    const entry = this.pending.get(session);
    if (!entry || session.state.is_connected) return this.cancel(session);
    const idle = Date.now() - Math.max(entry.since, session.lastUsedAt);
    if (idle < this.opts.ttlMs) return this.schedule(session, entry.since, this.opts.ttlMs - idle);
    this.pending.delete(session);
    if (this.opts.sessions.delete(session)) {
      this.opts.logger.debug({ session_id: session.id, idle_ms: idle }, 'unused session expired');
    }
  }

  /** Stops expiring; idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const { sessions } = this.opts;
    sessions.off('created', this.onUnused);
    sessions.off('disconnected', this.onUnused);
    sessions.off('connected', this.onBack);
    sessions.off('deleted', this.onBack);
    for (const { timer } of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
  }
}
