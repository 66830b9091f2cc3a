import type { Context, Next } from 'koa';
import { HttpError, forbidden, unauthorized } from '../errors.js';
import type { SessionManager } from '../sessions/manager.js';
import type { Session } from '../sessions/session.js';
import { expiredCookie, type SessionCookieOptions } from './cookie.js';
import { findToken } from '../request/token.js';

export interface AuthState {
  session: Session;
}

/** The session a guarded route runs for; set by `requireSession`. */
export function sessionOf(ctx: Context): Session {
  return (ctx.state as AuthState).session;
}

/**
 * The contract's auth guard (§1.2). With cookies enabled, any failure also expires the
 * request's cookie so the browser stops sending a dead token.
 */
export function requireSession(sessions: SessionManager, cookie: SessionCookieOptions) {
  return async (ctx: Context, next: Next): Promise<void> => {
    const fail = (err: HttpError): never => {
      if (cookie.enabled && ctx.get('cookie').includes(`${cookie.name}=`)) {
        ctx.append('Set-Cookie', expiredCookie(cookie));
      }
      throw err;
    };
    const found = findToken(ctx.headers, ctx.url, cookie);
    const session = found ? sessions.byTokenValue(found.token) : undefined;
    if (!session) return fail(unauthorized());
    if (!session.profile.can_login) return fail(forbidden('login is disabled for this session'));
    (ctx.state as AuthState).session = session;
    session.touch();
    await next();
  };
}

/** Guard: admins only (`403 session is not admin`). */
export async function requireAdmin(ctx: Context, next: Next): Promise<void> {
  if (!sessionOf(ctx).isAdmin) throw forbidden('session is not admin');
  await next();
}
