/**
 * On every answer, errors and event streams included. The API serves JSON:
 * it is never meant to be framed, sniffed as another type, or to leak the
 * page a link came from. The CSP only forbids framing, so the HTML pages of
 * other routes (docs, dashboards) keep working.
 */
export const SECURITY_HEADERS: readonly (readonly [string, string])[] = [
  ['x-content-type-options', 'nosniff'],
  ['content-security-policy', "frame-ancestors 'none'"],
  ['x-frame-options', 'DENY'],
  ['referrer-policy', 'no-referrer'],
];
/** Sent only on requests that came over TLS (directly, or per X-Forwarded-Proto from a trusted proxy). */
export const HSTS = 'max-age=31536000; includeSubDomains';
