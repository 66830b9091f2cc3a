import type { SessionManager } from './manager.js';
import type { Session } from './session.js';

/** Result of asking for control through the WebSocket (contract §6). */
export type ControlRequestOutcome = 'granted' | 'already-host' | 'requested' | 'denied';

/**
 * The rules for who may hold control. State (the host itself) lives in SessionManager;
 * this module only decides, so REST and WebSocket paths share one set of rules.
 */
export class ControlPolicy {
  constructor(private readonly sessions: SessionManager) {}

  /** `can_host` and not shut out by private mode. */
  mayHost(session: Session): boolean {
    if (!session.profile.can_host) return false;
    return !(this.sessions.settings.private_mode && !session.isAdmin);
  }

  /**
   * WS `control/request` and the implicit request every WS input event makes: becomes
   * host when allowed, otherwise the host is told someone wants control.
   */
  request(session: Session): ControlRequestOutcome {
    if (!this.mayHost(session)) return 'denied';
    const host = this.sessions.host;
    if (host === session) return 'already-host';
    if (this.sessions.settings.locked_controls && !session.isAdmin) return 'denied';
    if (this.sessions.settings.implicit_hosting || !host) {
      this.sessions.setHost(session, session);
      return 'granted';
    }
    host.send('control/request', { id: session.id });
    return 'requested';
  }

  /** WS `control/release`: only the host itself, and only while it may host. */
  release(session: Session): boolean {
    if (!this.mayHost(session) || this.sessions.host !== session) return false;
    this.sessions.setHost(null, session);
    return true;
  }
}
