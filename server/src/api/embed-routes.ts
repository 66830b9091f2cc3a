import type { Router } from '@koa/router';
import type { Context } from 'koa';
import { sendJson } from '../request/http-util.js';

/**
 * GET /api/embed (extension): embed.origins for the viewer's postMessage API, which accepts
 * commands only from these origins (`'self'` = the viewer's own, `*` = any). Public: the
 * page needs it before anyone logs in, and the same list is in its CSP header anyway.
 */
export function mountEmbedRoutes(router: Router, origins: readonly string[]): void {
  const body = { origins: [...origins] };
  router.get('/api/embed', (ctx: Context) => {
    sendJson(ctx, 200, body);
  });
}
