import type { Router } from '@koa/router';
import type { Context, Middleware } from 'koa';
import { badRequest, forbidden } from '../errors.js';
import type { MemberProvider } from '../members/types.js';
import { LIMITS, checkProfileLimits, pickProfile } from '../members/types.js';
import { API_SESSION_ID, type SessionManager } from '../sessions/manager.js';
import type { Session } from '../sessions/session.js';
import { sessionOf } from './auth.js';
import { expiredCookie, sessionCookie, type SessionCookieOptions } from './cookie.js';
import { readJson, sendJson } from '../request/http-util.js';

export interface AuthRoutesOptions {
  sessions: SessionManager;
  members: MemberProvider;
  cookie: SessionCookieOptions;
  /** The §1.2 session guard, built once in main. */
  auth: Middleware;
  maxBody: number;
  /** Runs before login; the login rate limit (it counts the 401s it sees). */
  loginLimit?: Middleware;
}

function credentials(body: unknown): { username: string; password: string } {
  const o = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  if (typeof o.username !== 'string' || typeof o.password !== 'string') {
    throw badRequest('unable to parse provided data');
  }
  // multiuser and noauth use the username as the profile name every client is sent.
  if (o.username.length > LIMITS.username) throw badRequest('username is too long');
  return { username: o.username, password: o.password };
}

/** The answer of a successful login: the token in a cookie or in the body (contract §1.3). */
export function answerLogin(ctx: Context, session: Session, cookie: SessionCookieOptions): void {
  const data = session.data();
  if (cookie.enabled) {
    ctx.append('Set-Cookie', sessionCookie(cookie, session.token));
    sendJson(ctx, 200, data);
  } else {
    sendJson(ctx, 200, { id: data.id, token: session.token, profile: data.profile, state: data.state });
  }
}

/** Login, logout, whoami and profile (contract §1.3). */
export function mountAuthRoutes(router: Router, opts: AuthRoutesOptions): void {
  const { sessions, members, cookie, auth } = opts;

  const loginLimit: Middleware = opts.loginLimit ?? ((_ctx, next) => next());
  router.post('/api/login', loginLimit, async (ctx: Context) => {
    const { username, password } = credentials(await readJson(ctx, opts.maxBody));
    const member = await members.authenticate(username, password);
    if (sessions.settings.locked_logins && !member.profile.is_admin) throw forbidden('logins are locked');
    answerLogin(ctx, sessions.create(member.id, member.profile), cookie);
  });

  router.post('/api/logout', auth, async (ctx: Context) => {
    const session = sessionOf(ctx);
    if (session.id === API_SESSION_ID || !sessions.delete(session)) throw badRequest('session is not logged in');
    if (cookie.enabled) ctx.append('Set-Cookie', expiredCookie(cookie));
    sendJson(ctx, 200, true);
  });

  router.get('/api/whoami', auth, (ctx: Context) => {
    sendJson(ctx, 200, sessionOf(ctx).data());
  });

  router.post('/api/profile', auth, async (ctx: Context) => {
    const session = sessionOf(ctx);
    const body = await readJson(ctx, opts.maxBody);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('unable to parse provided data');
    if (!sessions.get(session.id)) throw badRequest('session does not exist');
    // Non-admins may only rename themselves; permissions stay as their member grants.
    const fields = pickProfile(session.isAdmin ? body : { name: (body as Record<string, unknown>).name });
    checkProfileLimits(fields);
    sessions.updateProfile(session, { ...session.profile, ...fields });
    sendJson(ctx, 200, true);
  });
}
