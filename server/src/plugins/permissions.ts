import type { SessionManager } from '../sessions/manager.js';
import type { Session } from '../sessions/session.js';

/**
 * Reads one flat `"<plugin>.<setting>"` key of a plugins map. Absent (or null) means the
 * default, true; anything but a boolean counts as false, so a mistyped value never grants.
 */
function flag(plugins: Record<string, unknown> | null | undefined, key: string): boolean {
  const value = plugins?.[key];
  if (value === undefined || value === null) return true;
  return value === true;
}

/**
 * Contract §10's three layers: the plugin is enabled in the config, AND the room allows it
 * (or the caller is an admin), AND the caller's profile allows it.
 */
export function pluginAllows(enabled: boolean, sessions: SessionManager, session: Session, key: string): boolean {
  if (!enabled) return false;
  if (!flag(sessions.settings.plugins, key) && !session.isAdmin) return false;
  return flag(session.profile.plugins, key);
}
