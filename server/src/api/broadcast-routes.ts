import type { Router } from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { Broadcast } from '../capture/broadcast.js';
import { requireAdmin } from './auth.js';
import { noContent, readJson, sendJson } from '../request/http-util.js';

export interface BroadcastRoutesOptions {
  broadcast: Broadcast;
  /** The §1.2 session guard. */
  auth: Middleware;
  maxBody: number;
}

/** `/api/room/broadcast*` (contract §3.3): admins start, stop and inspect the RTMP broadcast. */
export function mountBroadcastRoutes(router: Router, opts: BroadcastRoutesOptions): void {
  const { broadcast, auth } = opts;
  router.get('/api/room/broadcast', auth, requireAdmin, (ctx: Context) => {
    sendJson(ctx, 200, broadcast.status());
  });
  router.post('/api/room/broadcast/start', auth, requireAdmin, async (ctx: Context) => {
    const body = await readJson(ctx, opts.maxBody);
    await broadcast.start(typeof body === 'object' && body !== null ? (body as { url?: unknown }).url : undefined);
    noContent(ctx);
  });
  router.post('/api/room/broadcast/stop', auth, requireAdmin, async (ctx: Context) => {
    await broadcast.stop();
    noContent(ctx);
  });
}
