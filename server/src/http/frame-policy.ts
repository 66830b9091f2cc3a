/** The headers that tell browsers who may show our pages in a frame. */
export interface FrameHeaders {
  'Content-Security-Policy': string;
  'X-Frame-Options'?: string;
}

/**
 * embed.origins (already validated: `'self'`, `'none'`, `*` or origins) as CSP
 * frame-ancestors, with the X-Frame-Options older browsers read when it says the same:
 * DENY for `'none'`, SAMEORIGIN for `'self'` alone. XFO cannot name other origins, and one
 * that contradicted the CSP would block frames the CSP allows in some browsers, so it is left
 * out then.
 */
export function frameHeaders(origins: readonly string[]): FrameHeaders {
  const list = origins.length === 0 ? ["'self'"] : origins;
  const csp = `frame-ancestors ${list.join(' ')}`;
  if (list.length === 1 && list[0] === "'none'") return { 'Content-Security-Policy': csp, 'X-Frame-Options': 'DENY' };
  if (list.length === 1 && list[0] === "'self'") return { 'Content-Security-Policy': csp, 'X-Frame-Options': 'SAMEORIGIN' };
  return { 'Content-Security-Policy': csp };
}
