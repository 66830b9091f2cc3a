import { isDeepStrictEqual } from 'node:util';
import { badRequest } from '../errors.js';
import type { SettingsPatch } from '../sessions/settings-effects.js';
import type { Settings } from '../sessions/types.js';

/** Room settings (contract §2.3) a share link may lock; `plugins` locks the whole plugin map. */
export const LOCKABLE_SETTINGS = [
  'private_mode',
  'locked_logins',
  'locked_controls',
  'control_protection',
  'implicit_hosting',
  'inactive_cursors',
  'merciful_reconnect',
  'heartbeat_interval',
  'plugins',
] as const satisfies readonly (keyof Settings)[];

/** `plugins.<key>` locks one plugin setting; the key limits match what room settings accept. */
const PLUGIN_PREFIX = 'plugins.';
const MAX_PLUGIN_KEY_LENGTH = 128;
export const MAX_LOCKED_SETTINGS = 32;

function isLockable(key: string): boolean {
  if ((LOCKABLE_SETTINGS as readonly string[]).includes(key)) return true;
  const plugin = key.startsWith(PLUGIN_PREFIX) ? key.slice(PLUGIN_PREFIX.length) : '';
  return plugin.length > 0 && plugin.length <= MAX_PLUGIN_KEY_LENGTH;
}

/** The `locked_settings` of a share request: a list of lockable keys, deduplicated, in the order given. */
export function parseLockedSettings(value: unknown): string[] {
  if (!Array.isArray(value) || value.length > MAX_LOCKED_SETTINGS || !value.every((k) => typeof k === 'string')) {
    throw badRequest(`locked_settings must be a list of at most ${MAX_LOCKED_SETTINGS} room settings keys`);
  }
  const unknown = value.find((k) => !isLockable(k));
  if (unknown !== undefined) {
    throw badRequest(`locked_settings: unknown room setting ${JSON.stringify(unknown.slice(0, 64))}; use ${LOCKABLE_SETTINGS.join(', ')} or plugins.<key>`);
  }
  return [...new Set(value as string[])];
}

/** Plugin keys whose value `patch` would change, given how room settings merge the map. */
function changedPluginKeys(patch: SettingsPatch, current: Settings): string[] {
  if (patch.plugins === undefined) return [];
  const before = current.plugins ?? {};
  if (patch.plugins === null) return Object.keys(before);
  return Object.entries(patch.plugins)
    .filter(([key, value]) => !Object.hasOwn(before, key) || !isDeepStrictEqual(before[key], value))
    .map(([key]) => key);
}

/**
 * The first locked key `patch` would actually change, or null. Restating a value unchanged is
 * allowed, because admin clients post whole Settings objects back.
 */
export function lockedChange(locked: readonly string[], patch: SettingsPatch, current: Settings): string | null {
  if (locked.length === 0) return null;
  for (const key of LOCKABLE_SETTINGS) {
    if (key === 'plugins' || !locked.includes(key)) continue;
    const value = patch[key];
    if (value !== undefined && value !== current[key]) return key;
  }
  const plugins = changedPluginKeys(patch, current);
  if (plugins.length > 0 && locked.includes('plugins')) return 'plugins';
  const plugin = plugins.find((key) => locked.includes(`${PLUGIN_PREFIX}${key}`));
  return plugin === undefined ? null : `${PLUGIN_PREFIX}${plugin}`;
}
