export interface SessionCookieOptions {
  enabled: boolean;
  name: string;
  /** Lifetime in milliseconds. */
  expiration: number;
  secure: boolean;
  http_only: boolean;
  domain: string;
  path: string;
  /** CHIPS: browsers only accept it with Secure. */
  partitioned?: boolean;
}

function attributes(opts: SessionCookieOptions, expires: Date): string[] {
  const parts = [`Expires=${expires.toUTCString()}`];
  if (opts.domain) parts.push(`Domain=${opts.domain}`);
  if (opts.path) parts.push(`Path=${opts.path}`);
  if (opts.secure) parts.push('Secure', 'SameSite=None');
  if (opts.secure && opts.partitioned) parts.push('Partitioned');
  if (opts.http_only) parts.push('HttpOnly');
  return parts;
}

/**
 * Built by hand rather than with koa's cookie jar: the jar refuses Secure cookies on plain
 * HTTP, yet the contract sets them whenever configured (TLS may end at a proxy).
 */
export function sessionCookie(opts: SessionCookieOptions, token: string, now = Date.now()): string {
  return [`${opts.name}=${token}`, ...attributes(opts, new Date(now + opts.expiration))].join('; ');
}

export function expiredCookie(opts: SessionCookieOptions): string {
  return [`${opts.name}=`, ...attributes(opts, new Date(0))].join('; ');
}
