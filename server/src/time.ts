/**
 * RFC 3339 with the fraction's trailing zeros dropped, as the contract's timestamps are
 * (Go's RFC3339Nano layout): `…05.120Z` → `…05.12Z`, `…05.000Z` → `…05Z`.
 */
export function timestamp(date: Date = new Date()): string {
  return date.toISOString().replace(/\.(\d*?)0+Z$/, (_m, digits: string) => (digits ? `.${digits}Z` : 'Z'));
}
