import type { Role } from '../generated/prisma/client.js';
import { UUID } from '../infra/ids/ids.js';
import type { AuthUser } from './auth.types.js';

const ROLES: readonly string[] = ['CUSTOMER', 'ADMIN'] satisfies Role[];

/**
 * The caller named by the payload of a token whose signature and expiry are
 * already verified, or null when the claims are not ones this API issues:
 * `sub` must be a user id (a UUID) and `role` a known role. Every reader of
 * tokens goes through here, so a validly signed token with an odd `sub` is a
 * 401 everywhere instead of reaching SQL (500) or the gate (a ticket for a
 * user that does not exist). The id comes back lower-cased, as stored, so
 * per-user keys and ownership checks see one spelling.
 */
export function claimsFrom(payload: unknown): AuthUser | null {
  if (typeof payload !== 'object' || payload === null) return null;
  const { sub, role } = payload as { sub?: unknown; role?: unknown };
  if (typeof sub !== 'string' || !UUID.test(sub)) return null;
  if (typeof role !== 'string' || !ROLES.includes(role)) return null;
  return { id: sub.toLowerCase(), role: role as Role };
}
