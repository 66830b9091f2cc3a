import type { Context, Next } from 'koa';

const METHODS = ['GET', 'POST', 'DELETE', 'OPTIONS'];
const HEADERS = ['Accept', 'Authorization', 'Content-Type', 'X-CSRF-Token'];
const MAX_AGE_SECONDS = 300;

/**
 * CORS for the contract's origins (§3.5): the listed ones, or any with `*`. Credentials are
 * allowed, so the origin is echoed rather than answered with `*`. Preflights are answered
 * here and never reach the router; an origin, method or header outside the lists gets no
 * CORS headers, which makes the browser refuse the real request.
 */
export function cors(origins: readonly string[]) {
  const any = origins.includes('*');
  const allowed = new Set(origins);
  const methods = new Set(METHODS);
  const headers = new Set(HEADERS.map((h) => h.toLowerCase()));

  return async (ctx: Context, next: Next): Promise<void> => {
    const origin = ctx.get('origin');
    const preflight = ctx.method === 'OPTIONS' && ctx.get('access-control-request-method') !== '';
    ctx.vary('Origin');
    const originOk = origin !== '' && (any || allowed.has(origin));

    if (preflight) {
      ctx.vary('Access-Control-Request-Method');
      ctx.vary('Access-Control-Request-Headers');
      const method = ctx.get('access-control-request-method').toUpperCase();
      const requested = ctx
        .get('access-control-request-headers')
        .split(',')
        .map((h) => h.trim().toLowerCase())
        .filter((h) => h !== '');
      if (originOk && methods.has(method) && requested.every((h) => headers.has(h))) {
        ctx.set('Access-Control-Allow-Origin', origin);
        ctx.set('Access-Control-Allow-Credentials', 'true');
        ctx.set('Access-Control-Allow-Methods', METHODS.join(', '));
        ctx.set('Access-Control-Allow-Headers', HEADERS.join(', '));
        ctx.set('Access-Control-Max-Age', String(MAX_AGE_SECONDS));
      }
      ctx.status = 204;
      return;
    }

    if (originOk) {
      ctx.set('Access-Control-Allow-Origin', origin);
      ctx.set('Access-Control-Allow-Credentials', 'true');
      ctx.set('Access-Control-Expose-Headers', 'Link');
    }
    await next();
  };
}
