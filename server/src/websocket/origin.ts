import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { HttpError } from '../errors.js';

export interface OriginPolicyOptions {
  /** server.cors: origins allowed besides our own; `*` = any. */
  allowed: readonly string[];
  /**
   * session.cookie.enabled: a browser then attaches the session to an upgrade any page
   * starts, so only our own and the listed origins may upgrade (no cross-site hijacking).
   */
  cookies: boolean;
  /** server.proxy: our origin is what X-Forwarded-Proto / X-Forwarded-Host say. */
  proxy: boolean;
}

/** The first value of a header a proxy chain may have repeated or comma-joined. */
function firstValue(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  return value?.split(',')[0]!.trim() || undefined;
}

const SCHEMES: Record<string, string> = { http: 'http', https: 'https', ws: 'http', wss: 'https' };

/**
 * The origin the client reached us at (`scheme://host[:port]`), as a browser serializes it,
 * or null when the request does not say. A path prefix does not enter into it: origins have
 * no path.
 */
export function ownOrigin(req: IncomingMessage, proxy: boolean): string | null {
  const encrypted = (req.socket as TLSSocket).encrypted === true;
  const forwardedProto = proxy ? firstValue(req.headers['x-forwarded-proto'])?.toLowerCase() : undefined;
  const scheme = (forwardedProto && SCHEMES[forwardedProto]) || (encrypted ? 'https' : 'http');
  const host = (proxy ? firstValue(req.headers['x-forwarded-host']) : undefined) ?? req.headers.host;
  if (!host) return null;
  try {
    const url = new URL(`${scheme}://${host}`);
    // A host header carrying a path or credentials is not a plain authority.
    if (url.username || url.password || url.pathname !== '/' || url.search || url.hash) return null;
    return url.origin;
  } catch {
    return null;
  }
}

function normalized(origin: string): string | null {
  try {
    return new URL(origin).origin;
  } catch {
    return null;
  }
}

/**
 * Which `Origin` may open the WebSocket (contract §3.5 "WS origin", hardened). No Origin
 * (not a browser) and our own origin always may. A listed origin, or any with `*`, may.
 * Otherwise: with cookies the upgrade is refused with 403, since the browser would carry
 * the session cookie for a foreign page; without cookies a page has no credentials to
 * ride, so the contract's rule holds: an empty list accepts any origin, a non-empty list
 * refuses the rest with 400.
 */
export class OriginPolicy {
  private readonly any: boolean;
  private readonly allowed: ReadonlySet<string>;

  constructor(private readonly opts: OriginPolicyOptions) {
    this.any = opts.allowed.includes('*');
    this.allowed = new Set(opts.allowed);
  }

  /** Null when the upgrade may go on, else the error to answer with. */
  check(req: IncomingMessage): HttpError | null {
    const origin = req.headers.origin;
    if (origin === undefined || this.any || this.allowed.has(origin)) return null;
    const own = ownOrigin(req, this.opts.proxy);
    if (own !== null && normalized(origin) === own) return null;
    if (this.opts.cookies) return new HttpError(403, 'origin not allowed');
    return this.allowed.size === 0 ? null : new HttpError(400, 'origin not allowed');
  }
}
