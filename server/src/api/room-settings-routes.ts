import type { Router } from '@koa/router';
import type { Context, Middleware } from 'koa';
import { badRequest, forbidden } from '../errors.js';
import type { SessionManager } from '../sessions/manager.js';
import type { Session } from '../sessions/session.js';
import type { SettingsEffects, SettingsPatch } from '../sessions/settings-effects.js';
import { lockedChange } from '../shares/locked-settings.js';
import { requireAdmin, sessionOf } from './auth.js';
import { noContent, readJson, sendJson } from '../request/http-util.js';

export interface RoomSettingsRoutesOptions {
  sessions: SessionManager;
  settings: SettingsEffects;
  /** The §1.2 session guard, built once in main. */
  auth: Middleware;
  maxBody: number;
  /** Extension: room settings keys a session may not change (share links' `locked_settings`). */
  lockedFor?: (session: Session) => readonly string[];
}

const FLAGS = [
  'private_mode',
  'locked_logins',
  'locked_controls',
  'control_protection',
  'implicit_hosting',
  'inactive_cursors',
  'merciful_reconnect',
] as const;

/** Clients are told to heartbeat this often; outside this range a client would spin or go silent. */
const HEARTBEAT_MIN_S = 1;
const HEARTBEAT_MAX_S = 3600;
const MAX_PLUGIN_KEYS = 100;
const MAX_PLUGIN_KEY_LENGTH = 128;

/**
 * A partial Settings body. Unknown keys are ignored and `null` leaves a field unchanged
 * (except `plugins`, where it clears the map), as neko clients expect; any wrongly typed
 * value rejects the whole update.
 */
export function parseSettingsPatch(body: unknown): SettingsPatch {
  const invalid = () => badRequest('unable to parse provided data');
  if (body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw invalid();
  const o = body as Record<string, unknown>;
  const patch: SettingsPatch = {};
  for (const key of FLAGS) {
    const v = o[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'boolean') throw invalid();
    patch[key] = v;
  }
  const hb = o.heartbeat_interval;
  if (hb !== undefined && hb !== null) {
    if (typeof hb !== 'number' || !Number.isInteger(hb) || hb < HEARTBEAT_MIN_S || hb > HEARTBEAT_MAX_S) throw invalid();
    patch.heartbeat_interval = hb;
  }
  const plugins = o.plugins;
  if (plugins === null) patch.plugins = null;
  else if (plugins !== undefined) {
    if (typeof plugins !== 'object' || Array.isArray(plugins)) throw invalid();
    const keys = Object.keys(plugins);
    if (keys.length > MAX_PLUGIN_KEYS || keys.some((k) => k.length === 0 || k.length > MAX_PLUGIN_KEY_LENGTH)) throw invalid();
    patch.plugins = { ...(plugins as Record<string, unknown>) };
  }
  return patch;
}

/** `GET/POST /api/room/settings` (contract §3.3); side effects live in SettingsEffects. */
export function mountRoomSettingsRoutes(router: Router, opts: RoomSettingsRoutesOptions): void {
  const { sessions } = opts;
  const { auth } = opts;

  router.get('/api/room/settings', auth, requireAdmin, (ctx: Context) => {
    sendJson(ctx, 200, sessions.settings);
  });

  router.post('/api/room/settings', auth, requireAdmin, async (ctx: Context) => {
    const patch = parseSettingsPatch(await readJson(ctx, opts.maxBody));
    const session = sessionOf(ctx);
    const locked = lockedChange(opts.lockedFor?.(session) ?? [], patch, sessions.settings);
    if (locked !== null) throw forbidden(`room setting ${locked} is locked for this session`);
    opts.settings.update(patch, session);
    noContent(ctx);
  });
}
