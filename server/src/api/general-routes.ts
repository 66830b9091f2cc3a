import { readFileSync } from 'node:fs';
import type { Router } from '@koa/router';
import type { Context, Middleware } from 'koa';
import { badRequest } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { SessionManager } from '../sessions/manager.js';
import { sendJson } from '../request/http-util.js';

export interface GeneralRoutesOptions {
  sessions: SessionManager;
  /** The contract's auth guard. */
  auth: Middleware;
  /** Present only when `server.metrics` is on; `/metrics` does not exist otherwise. */
  metrics: Metrics | null;
}

const OPENAPI_URL = new URL('../../../openapi.yaml', import.meta.url);

/** `/api/stats`, `/metrics`, `/openapi.yaml`, and `/api/ws` for requests that are not upgrades. */
export function mountGeneralRoutes(router: Router, opts: GeneralRoutesOptions): void {
  const { sessions, metrics } = opts;
  // Read once: the document ships with the code and never changes while running.
  const openapi = readFileSync(OPENAPI_URL, 'utf8');

  router.get('/api/stats', opts.auth, (ctx: Context) => {
    sendJson(ctx, 200, sessions.stats());
  });

  // Upgrades never reach the router; a plain GET here is a client that did not ask for one.
  router.get('/api/ws', () => {
    throw badRequest('websocket upgrade required');
  });

  router.get('/openapi.yaml', (ctx: Context) => {
    ctx.type = 'application/yaml';
    ctx.body = openapi;
  });

  if (metrics) {
    router.get('/metrics', async (ctx: Context) => {
      const { contentType, text } = await metrics.render();
      ctx.type = contentType;
      ctx.body = text;
    });
  }
}
