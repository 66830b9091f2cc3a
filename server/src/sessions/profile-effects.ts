import type { Logger } from '../log.js';
import type { SessionManager } from './manager.js';
import type { Session } from './session.js';

export interface ProfileEffectsOptions {
  sessions: SessionManager;
  logger: Logger;
  /** How long a session that lost `can_watch` keeps its peer; contract §2.1 says about 1 s. */
  watchRevokeDelayMs?: number;
}

/**
 * What a profile change does to a live session (contract §2.1 gates): without `can_login`
 * or `can_connect` its WebSocket and WebRTC peer are closed ("profile changed"), without
 * `can_watch` its peer is closed shortly after, without `can_host` it stops being host.
 * It reacts to SessionManager's `profile` event, so REST member updates, `/api/profile` and
 * anything else that changes a profile get the same effects. What `is_admin` means for
 * private mode and locked controls is SettingsEffects' concern.
 */
export class ProfileEffects {
  /** Pending peer closes; the delay lets the client see `session/profile` before `signal/close`. */
  private readonly watchTimers = new Map<Session, NodeJS.Timeout>();
  private closed = false;
  private readonly onProfile = (session: Session) => this.apply(session);
  private readonly onDeleted = (session: Session) => this.cancelWatchTimer(session);

  constructor(private readonly opts: ProfileEffectsOptions) {
    opts.sessions.on('profile', this.onProfile);
    opts.sessions.on('deleted', this.onDeleted);
  }

  private apply(session: Session): void {
    const { sessions, logger } = this.opts;
    const { profile } = session;
    if (!profile.can_host && sessions.host === session) {
      logger.info({ session_id: session.id }, 'host lost can_host; control cleared');
      sessions.setHost(null, session);
    }
    if (!profile.can_login || !profile.can_connect) {
      this.cancelWatchTimer(session);
      if (session.socket || session.peer) {
        logger.info({ session_id: session.id, can_login: profile.can_login, can_connect: profile.can_connect }, 'session disconnected: profile changed');
        sessions.disconnect(session, 'profile changed');
      }
      return;
    }
    if (profile.can_watch) {
      this.cancelWatchTimer(session);
    } else if (session.peer && !this.watchTimers.has(session)) {
      this.watchTimers.set(session, setTimeout(() => this.closePeer(session), this.opts.watchRevokeDelayMs ?? 1000));
    }
  }

  private closePeer(session: Session): void {
    this.watchTimers.delete(session);
    if (session.profile.can_watch || !session.peer) return;
    this.opts.logger.info({ session_id: session.id }, 'peer closed: can_watch revoked');
    session.peer.close();
  }

  private cancelWatchTimer(session: Session): void {
    const timer = this.watchTimers.get(session);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.watchTimers.delete(session);
  }

  /** Stops reacting to the manager and drops pending closes; idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.opts.sessions.off('profile', this.onProfile);
    this.opts.sessions.off('deleted', this.onDeleted);
    for (const timer of this.watchTimers.values()) clearTimeout(timer);
    this.watchTimers.clear();
  }
}
