import type { IncomingHttpHeaders } from 'node:http';

export interface CookieSettings {
  enabled: boolean;
  name: string;
}

export type TokenSource = 'cookie' | 'header' | 'query';

export interface FoundToken {
  token: string;
  source: TokenSource;
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    // A malformed escape is a bad cookie, not a server error: treat it as no token at all.
    try {
      return decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * Finds the session token in the contract's order (§1.1): cookie (only when enabled),
 * `Authorization: Bearer`, `?token=`. The first transport present wins even if its token
 * turns out invalid, so a stale cookie cannot be rescued by a query token.
 */
export function findToken(headers: IncomingHttpHeaders, url: string, cookie: CookieSettings): FoundToken | null {
  if (cookie.enabled) {
    const value = readCookie(headers.cookie, cookie.name);
    if (value !== undefined) return { token: value, source: 'cookie' };
  }
  const auth = headers.authorization;
  if (auth && auth.includes('Bearer ')) {
    return { token: auth.slice(auth.indexOf('Bearer ') + 'Bearer '.length).trim(), source: 'header' };
  }
  const query = new URL(url, 'http://localhost').searchParams.get('token');
  if (query) return { token: query, source: 'query' };
  return null;
}
