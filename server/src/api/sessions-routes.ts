import type { Router } from '@koa/router';
import type { Context } from 'koa';
import { badRequest, notFound } from '../errors.js';
import type { Logger } from '../log.js';
import type { SessionManager } from '../sessions/manager.js';
import { requireAdmin, requireSession, sessionOf } from './auth.js';
import type { SessionCookieOptions } from './cookie.js';
import { noContent, sendJson } from './http-util.js';

export interface SessionsRoutesOptions {
  sessions: SessionManager;
  cookie: SessionCookieOptions;
  logger: Logger;
}

/** Session listing and administration (contract §3.1 session rows). */
export function mountSessionsRoutes(router: Router, opts: SessionsRoutesOptions): void {
  const { sessions, logger } = opts;
  const auth = requireSession(sessions, opts.cookie);

  router.get('/api/sessions', auth, (ctx: Context) => {
    sendJson(ctx, 200, sessions.list().map((s) => s.data()));
  });

  router.get('/api/sessions/:sessionId', auth, requireAdmin, (ctx: Context) => {
    const session = sessions.get(ctx.params.sessionId!);
    if (!session) throw notFound('session not found');
    sendJson(ctx, 200, session.data());
  });

  router.delete('/api/sessions/:sessionId', auth, requireAdmin, (ctx: Context) => {
    const id = ctx.params.sessionId!;
    const caller = sessionOf(ctx);
    if (id === caller.id) throw badRequest('cannot delete own session');
    const session = sessions.get(id);
    if (!session) throw badRequest('session not found');
    sessions.delete(session);
    logger.info({ session_id: id, by: caller.id }, 'session deleted by admin');
    noContent(ctx);
  });

  router.post('/api/sessions/:sessionId/disconnect', auth, requireAdmin, (ctx: Context) => {
    const id = ctx.params.sessionId!;
    const session = sessions.get(id);
    if (!session) throw badRequest('session not found');
    sessions.disconnect(session, 'session disconnected');
    logger.info({ session_id: id, by: sessionOf(ctx).id }, 'session disconnected by admin');
    noContent(ctx);
  });
}
