import { randomBytes } from 'node:crypto';
import type { Router } from '@koa/router';
import type { Context, Middleware } from 'koa';
import { badRequest, forbidden } from '../errors.js';
import { readJson, noContent, sendJson } from '../request/http-util.js';
import type { SessionManager } from '../sessions/manager.js';
import { parseLockedSettings } from '../shares/locked-settings.js';
import { SHARE_SCOPES, shareProfile, type ShareScope } from '../shares/profile.js';
import { SHARE_LIMITS, type ShareRequest, type ShareService } from '../shares/shares.js';
import { requireAdmin } from './auth.js';
import { answerLogin } from './auth-routes.js';
import type { SessionCookieOptions } from './cookie.js';

export interface SharesRoutesOptions {
  shares: ShareService;
  sessions: SessionManager;
  cookie: SessionCookieOptions;
  /** The §1.2 session guard, built once in main. */
  auth: Middleware;
  maxBody: number;
  /** server.path_prefix, for the link's URL. */
  pathPrefix: string;
  /** The login rate limit: a share login is a login. */
  loginLimit?: Middleware;
}

function isCount(value: unknown, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= max;
}

function shareRequest(body: unknown): ShareRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('unable to parse provided data');
  const o = body as Record<string, unknown>;
  if (!SHARE_SCOPES.includes(o.scope as ShareScope)) throw badRequest(`scope must be one of ${SHARE_SCOPES.join(', ')}`);
  if (typeof o.name !== 'string' || o.name.trim() === '') throw badRequest('name is required');
  if (o.name.length > SHARE_LIMITS.name) throw badRequest('name is too long');
  if (!isCount(o.expires_in, SHARE_LIMITS.maxExpiresIn)) throw badRequest(`expires_in must be whole seconds from 1 to ${SHARE_LIMITS.maxExpiresIn}`);
  if (o.uses !== undefined && !isCount(o.uses, SHARE_LIMITS.maxUses)) throw badRequest(`uses must be a whole number from 1 to ${SHARE_LIMITS.maxUses}`);
  const locked = o.locked_settings === undefined ? [] : parseLockedSettings(o.locked_settings);
  // Only admins may change room settings at all: a lock on another scope would promise something it does not do.
  if (locked.length > 0 && o.scope !== 'admin') throw badRequest('locked_settings only applies to admin scope links');
  return {
    scope: o.scope as ShareScope,
    name: o.name.trim(),
    expiresIn: o.expires_in,
    ...(o.uses === undefined ? {} : { uses: o.uses }),
    ...(locked.length === 0 ? {} : { lockedSettings: locked }),
  };
}

/** Share links (extension): admins mint, list and revoke them; anyone holding one logs in with it. */
export function mountSharesRoutes(router: Router, opts: SharesRoutesOptions): void {
  const { shares, sessions, cookie, auth } = opts;
  const prefix = opts.pathPrefix.replace(/\/+$/, '');

  router.post('/api/shares', auth, requireAdmin, async (ctx: Context) => {
    const req = shareRequest(await readJson(ctx, opts.maxBody));
    const { record, token } = await shares.create(req);
    sendJson(ctx, 201, {
      id: record.id,
      token,
      url: `${ctx.protocol}://${ctx.host}${prefix}/?share=${token}`,
      scope: record.scope,
      name: record.name,
      expires_at: record.expires_at,
      ...(record.uses === undefined ? {} : { uses: record.uses }),
      ...(record.locked_settings === undefined ? {} : { locked_settings: record.locked_settings }),
    });
  });

  router.get('/api/shares', auth, requireAdmin, (ctx: Context) => {
    // Tokens are never kept, so the list cannot leak one.
    sendJson(ctx, 200, shares.list());
  });

  router.delete('/api/shares/:shareId', auth, requireAdmin, async (ctx: Context) => {
    const disconnect = ctx.query.disconnect;
    if (disconnect !== undefined && disconnect !== 'true' && disconnect !== 'false') throw badRequest('disconnect must be true or false');
    await shares.revoke(ctx.params.shareId!, disconnect === 'true');
    noContent(ctx);
  });

  const loginLimit: Middleware = opts.loginLimit ?? ((_ctx, next) => next());
  router.post('/api/login/share', loginLimit, async (ctx: Context) => {
    const body = await readJson(ctx, opts.maxBody);
    const token = (body as { token?: unknown } | null)?.token;
    if (typeof token !== 'string') throw badRequest('unable to parse provided data');
    const { record, sessionName } = await shares.redeem(token, (scope) => {
      if (sessions.settings.locked_logins && scope !== 'admin') throw forbidden('logins are locked');
    });
    const session = sessions.create(`share_${randomBytes(9).toString('base64url')}`, shareProfile(record.scope, sessionName));
    await shares.attach(record.id, session.id);
    answerLogin(ctx, session, cookie);
  });
}
