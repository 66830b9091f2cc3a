import type { Router } from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { ControlPolicy } from '../sessions/control.js';
import type { SessionManager } from '../sessions/manager.js';
import { requireAdmin, sessionOf } from './auth.js';
import { requireCanHost, requireHostOrAdmin } from './guards.js';
import { noContent, sendJson } from '../request/http-util.js';

export interface ControlRoutesOptions {
  sessions: SessionManager;
  control: ControlPolicy;
  /** The §1.2 session guard, built once in main. */
  auth: Middleware;
}

/** `/api/room/control*` (contract §3.3); the rules themselves are ControlPolicy's. */
export function mountControlRoutes(router: Router, opts: ControlRoutesOptions): void {
  const { sessions, control } = opts;
  const { auth } = opts;
  const canHost = requireCanHost(sessions);

  router.get('/api/room/control', auth, canHost, (ctx: Context) => {
    sendJson(ctx, 200, sessions.controlStatus());
  });

  router.post('/api/room/control/request', auth, canHost, (ctx: Context) => {
    if (control.restRequest(sessionOf(ctx)) === 'granted') noContent(ctx);
    else sendJson(ctx, 202, { code: 202, message: 'control request sent' });
  });

  router.post('/api/room/control/release', auth, canHost, (ctx: Context) => {
    control.restRelease(sessionOf(ctx));
    noContent(ctx);
  });

  router.post('/api/room/control/take', auth, canHost, requireAdmin, (ctx: Context) => {
    control.take(sessionOf(ctx));
    noContent(ctx);
  });

  router.post('/api/room/control/give/:sessionId', auth, canHost, requireHostOrAdmin(sessions), (ctx: Context) => {
    control.give(sessionOf(ctx), String(ctx.params.sessionId));
    noContent(ctx);
  });

  router.post('/api/room/control/reset', auth, canHost, requireAdmin, (ctx: Context) => {
    control.reset(sessionOf(ctx));
    noContent(ctx);
  });
}
