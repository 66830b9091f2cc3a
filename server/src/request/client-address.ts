import type { Context } from 'koa';
import { isIP } from 'node:net';

/**
 * The client's address. With `proxy` (server.proxy) the reverse proxy's headers are
 * trusted: X-Real-IP first (proxies set it to the peer they saw), else the first
 * X-Forwarded-For entry. Only sound behind a proxy that overwrites these headers; values
 * that are not IP addresses are ignored so a header cannot invent arbitrary keys.
 */
export function clientAddress(ctx: Context, proxy: boolean): string {
  if (proxy) {
    const real = ctx.get('x-real-ip').trim();
    if (isIP(real)) return real;
    const forwarded = ctx.get('x-forwarded-for').split(',')[0]!.trim();
    if (isIP(forwarded)) return forwarded;
  }
  return ctx.req.socket.remoteAddress ?? '';
}
