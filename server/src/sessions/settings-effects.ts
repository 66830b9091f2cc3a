import type { Logger } from '../log.js';
import type { MemberProfile } from '../members/types.js';
import type { SessionManager } from './manager.js';
import type { Session } from './session.js';
import type { Settings } from './types.js';

/** A validated partial update of the room settings; `plugins` keys are merged one by one. */
export type SettingsPatch = Partial<Settings>;

export interface SettingsEffectsOptions {
  sessions: SessionManager;
  logger: Logger;
}

/**
 * What room settings do to sessions (contract §3.3 "Settings POST", §5.1, §6): private mode
 * pauses non-admin media and shuts non-admins out of control, locked controls shut them out
 * too, and control protection keeps controls locked while no admin is connected. It reacts
 * to the manager's events, so every path that changes settings or sessions gets the same
 * effects. Other modules (the private-mode screencast fallback) subscribe to the manager's
 * `settings` event themselves.
 */
export class SettingsEffects {
  private closed = false;
  private readonly onSettings = (next: Settings, previous: Settings, changedBy: Session | null) =>
    this.settingsChanged(next, previous, changedBy);
  private readonly onDisconnected = (session: Session) => this.disconnected(session);
  private readonly onProfile = (session: Session, previous: MemberProfile) => this.profileChanged(session, previous);

  constructor(private readonly opts: SettingsEffectsOptions) {
    opts.sessions.on('settings', this.onSettings);
    opts.sessions.on('disconnected', this.onDisconnected);
    opts.sessions.on('profile', this.onProfile);
  }

  /**
   * Merges `patch` over the current settings and applies it (`system/settings` goes to
   * everyone, even when nothing changed). Turning control protection on while no admin is
   * connected locks controls in the same update.
   */
  update(patch: SettingsPatch, changedBy: Session | null): void {
    const { sessions } = this.opts;
    const current = sessions.settings;
    const next: Settings = { ...current, ...patch };
    if (patch.plugins !== undefined) {
      next.plugins = patch.plugins === null ? null : { ...(current.plugins ?? {}), ...patch.plugins };
    }
    if (next.control_protection && !current.control_protection && !this.adminConnected()) {
      next.locked_controls = true;
    }
    sessions.updateSettings(next, changedBy);
  }

  private adminConnected(): boolean {
    return this.opts.sessions.connectedSessions().some((s) => s.isAdmin);
  }

  /** Private mode and locked controls only ever bind non-admins. */
  private shutOut(session: Session, settings: Settings): boolean {
    return !session.isAdmin && (settings.private_mode || settings.locked_controls);
  }

  private settingsChanged(next: Settings, previous: Settings, changedBy: Session | null): void {
    const { sessions, logger } = this.opts;
    const host = sessions.host;
    const lockedNow = (next.private_mode && !previous.private_mode) || (next.locked_controls && !previous.locked_controls);
    if (host && lockedNow && this.shutOut(host, next)) {
      logger.info({ session_id: host.id }, 'host cleared by room settings');
      sessions.setHost(null, changedBy);
    }
    if (next.private_mode !== previous.private_mode) {
      logger.info({ private_mode: next.private_mode }, 'private mode changed');
      for (const session of sessions.list()) session.peer?.setPaused(next.private_mode && !session.isAdmin);
    }
  }

  /** Control protection: the last admin to leave locks controls (contract §5.1). */
  private disconnected(session: Session): void {
    const { sessions } = this.opts;
    const settings = sessions.settings;
    if (!session.isAdmin || !settings.control_protection || settings.locked_controls) return;
    if (this.adminConnected()) return;
    this.opts.logger.info({ session_id: session.id }, 'last admin left; controls locked');
    sessions.updateSettings({ ...settings, locked_controls: true }, session);
  }

  /** Gaining or losing admin changes what private mode and locked controls mean for a session. */
  private profileChanged(session: Session, previous: MemberProfile): void {
    if (previous.is_admin === session.isAdmin) return;
    const { sessions } = this.opts;
    const settings = sessions.settings;
    session.peer?.setPaused(settings.private_mode && !session.isAdmin);
    if (sessions.host === session && this.shutOut(session, settings)) sessions.setHost(null, session);
  }

  /** Stops reacting to the manager; idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.opts.sessions.off('settings', this.onSettings);
    this.opts.sessions.off('disconnected', this.onDisconnected);
    this.opts.sessions.off('profile', this.onProfile);
  }
}
