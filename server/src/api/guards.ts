import type { Context, Middleware, Next } from 'koa';
import { forbidden, unprocessable } from '../errors.js';
import type { SessionManager } from '../sessions/manager.js';
import { sessionOf } from './auth.js';

/*
 * Permission guards for REST routes (contract §3). They run after `requireSession` and are
 * listed on a route in the contract's evaluation order, e.g.
 * `router.post(path, auth, requireCanHost(sessions), requireHost(sessions), handler)`.
 * Guards that depend on room state (host, private mode) take the SessionManager; the ones
 * that only read the caller's profile are plain middlewares, like `requireAdmin`.
 */

/** `403 session cannot watch` unless the profile has `can_watch`. */
export async function requireCanWatch(ctx: Context, next: Next): Promise<void> {
  if (!sessionOf(ctx).profile.can_watch) throw forbidden('session cannot watch');
  await next();
}

/** `403 session cannot access clipboard` unless the profile has `can_access_clipboard`. */
export async function requireCanAccessClipboard(ctx: Context, next: Next): Promise<void> {
  if (!sessionOf(ctx).profile.can_access_clipboard) throw forbidden('session cannot access clipboard');
  await next();
}

/**
 * `403 session cannot host` without `can_host`; then `422 private mode is enabled` for a
 * non-admin while the room is in private mode.
 */
export function requireCanHost(sessions: SessionManager): Middleware {
  return async (ctx: Context, next: Next): Promise<void> => {
    const session = sessionOf(ctx);
    if (!session.profile.can_host) throw forbidden('session cannot host');
    if (sessions.settings.private_mode && !session.isAdmin) throw unprocessable('private mode is enabled');
    await next();
  };
}

/** `403 session is not host` unless the caller currently holds control. */
export function requireHost(sessions: SessionManager): Middleware {
  return async (ctx: Context, next: Next): Promise<void> => {
    if (sessions.host !== sessionOf(ctx)) throw forbidden('session is not host');
    await next();
  };
}

/** `403 session is not host or admin` unless the caller holds control or is an admin. */
export function requireHostOrAdmin(sessions: SessionManager): Middleware {
  return async (ctx: Context, next: Next): Promise<void> => {
    const session = sessionOf(ctx);
    if (sessions.host !== session && !session.isAdmin) throw forbidden('session is not host or admin');
    await next();
  };
}
