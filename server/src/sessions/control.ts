import { badRequest, forbidden, notFound, unprocessable } from '../errors.js';
import type { Logger } from '../log.js';
import type { SessionManager } from './manager.js';
import type { Session } from './session.js';

/** Result of asking for control through the WebSocket (contract §6). */
export type ControlRequestOutcome = 'granted' | 'already-host' | 'requested' | 'denied';

/** Result of `POST /api/room/control/request`: 204 or 202 (contract §3.3). */
export type RestRequestOutcome = 'granted' | 'requested';

/**
 * The rules for who may hold control. State (the host itself) lives in SessionManager;
 * this module only decides, so REST and WebSocket paths share one set of rules. Pressed
 * keys and buttons are released by whoever listens to the manager's `host` event, so every
 * host change here (release, reset, give, take, clearing) also frees the input.
 */
export class ControlPolicy {
  constructor(
    private readonly sessions: SessionManager,
    private readonly logger: Logger,
  ) {}

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
    const host = this.sessions.host;
    if (host === session && this.mayHost(session)) return 'already-host';
    if (!this.mayHost(session) || (this.sessions.settings.locked_controls && !session.isAdmin)) {
      this.logger.debug({ session_id: session.id }, 'control request denied');
      return 'denied';
    }
    if (this.sessions.settings.implicit_hosting || !host) {
      this.changeHost(session, session, 'control granted');
      return 'granted';
    }
    this.askHost(host, session);
    return 'requested';
  }

  /** True when a WS input event from `session` may be applied now (after the implicit request). */
  inputAllowed(session: Session): boolean {
    const outcome = this.request(session);
    return outcome === 'granted' || outcome === 'already-host';
  }

  /** WS `control/release`: only the host itself, and only while it may host. */
  release(session: Session): boolean {
    if (!this.mayHost(session) || this.sessions.host !== session) return false;
    this.changeHost(null, session, 'control released');
    return true;
  }

  /*
   * REST variants (contract §3.3). The route guards have already checked `can_host`,
   * private mode and admin/host rights; these add the per-operation rules.
   */

  /**
   * With a host present the host is asked (even when it is the caller, and whatever
   * `implicit_hosting` says); otherwise the caller takes control unless controls are locked.
   */
  restRequest(session: Session): RestRequestOutcome {
    const host = this.sessions.host;
    if (host) {
      this.askHost(host, session);
      return 'requested';
    }
    if (this.sessions.settings.locked_controls && !session.isAdmin) throw forbidden('controls are locked');
    this.changeHost(session, session, 'control granted');
    return 'granted';
  }

  restRelease(session: Session): void {
    if (this.sessions.host !== session) throw unprocessable('session is not the host');
    this.changeHost(null, session, 'control released');
  }

  take(session: Session): void {
    this.changeHost(session, session, 'control taken');
  }

  /** Hands control to `targetId`; `control/host` carries the giver as `id`. */
  give(giver: Session, targetId: string): void {
    const target = this.sessions.get(targetId);
    if (!target) throw notFound('target session was not found');
    if (!this.mayHost(target)) throw badRequest('target session is not allowed to host');
    this.changeHost(target, giver, 'control given');
  }

  reset(session: Session): void {
    this.changeHost(null, session, 'control reset');
  }

  private changeHost(next: Session | null, causedBy: Session, what: string): void {
    if (this.sessions.host === next) return;
    this.logger.info({ session_id: causedBy.id, host_id: next?.id }, what);
    this.sessions.setHost(next, causedBy);
  }

  private askHost(host: Session, requester: Session): void {
    this.logger.debug({ session_id: requester.id, host_id: host.id }, 'control request sent to host');
    host.send('control/request', { id: requester.id });
  }
}
