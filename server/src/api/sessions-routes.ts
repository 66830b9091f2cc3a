import type { Router } from '@koa/router';
import type { Context, Middleware } from 'koa';
import { badRequest, notFound } from '../errors.js';
import type { Logger } from '../log.js';
import type { SessionManager } from '../sessions/manager.js';
import { requireAdmin, sessionOf } from './auth.js';
import { noContent, sendJson } from '../request/http-util.js';

export interface SessionsRoutesOptions {
  sessions: SessionManager;
  /** The §1.2 session guard, built once in main. */
  auth: Middleware;
  logger: Logger;
}

/** Session listing and administration (contract §3.1 session rows). */
export function mountSessionsRoutes(router: Router, opts: SessionsRoutesOptions): void {
  const { sessions, logger } = opts;
  const { auth } = opts;

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
