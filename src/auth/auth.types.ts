import type { Role } from '../generated/prisma/client.js';

/** The JWT's claims. */
export interface TokenClaims {
  sub: string;
  role: Role;
}

/** The caller, as guards put it on the request. */
export interface AuthUser {
  id: string;
  role: Role;
}
