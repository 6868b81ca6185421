import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import type { AuthUser } from './auth.types.js';
import { claimsFrom } from './token-claims.js';

/**
 * The one reader of bearer tokens: signature, expiry and claims (see
 * claimsFrom). Used by the global guard and by the sold-out shortcut, which
 * answers before Nest's pipeline; both must agree on who is signed in.
 */
@Injectable()
export class TokenVerifier {
  constructor(@Inject(JwtService) private readonly jwt: JwtService) {}

  /** The payload of a token whose signature and expiry hold, or null. */
  payloadOf<T extends object>(token: string): T | null {
    try {
      return this.jwt.verify<T>(token);
    } catch {
      return null;
    }
  }

  /** The caller of an `Authorization` header value, or null (missing, tampered, expired, odd claims). */
  userOf(authorization: string | undefined): AuthUser | null {
    if (!authorization?.startsWith('Bearer ')) return null;
    const token = authorization.slice(7).trim();
    if (!token) return null;
    const payload = this.payloadOf<object>(token);
    return payload && claimsFrom(payload);
  }
}
