import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { LRUCache } from 'lru-cache';
import { AuthConfig } from '../infra/config/app-config.js';
import type { AuthUser } from './auth.types.js';
import { claimsFrom } from './token-claims.js';

/** A verified token's caller and the moment (ms) its `exp` passes. */
interface Verified {
  user: AuthUser;
  expiresAt: number;
}

/**
 * The one reader of bearer tokens: signature, expiry and claims (see
 * claimsFrom). Used by the global guard and by the sold-out shortcut, which
 * answers before Nest's pipeline; both must agree on who is signed in.
 *
 * A shopper sends the same token many times in a sale, so the callers of
 * tokens verified lately are kept (TOKEN_CACHE_SIZE, least recently used
 * first out), keyed by the whole token: a tampered token is another string
 * and is verified in full. An entry holds only until the token's own `exp`,
 * exactly as the verification would; a token without `exp` or with odd
 * claims is never kept.
 */
@Injectable()
export class TokenVerifier {
  private readonly verified?: LRUCache<string, Verified>;

  constructor(
    @Inject(JwtService) private readonly jwt: JwtService,
    @Inject(AuthConfig) config: AuthConfig,
  ) {
    if (config.TOKEN_CACHE_SIZE > 0) this.verified = new LRUCache({ max: config.TOKEN_CACHE_SIZE });
  }

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
    const cached = this.verified?.get(token);
    if (cached) {
      if (Date.now() < cached.expiresAt) return cached.user;
      this.verified!.delete(token);
      return null;
    }
    const payload = this.payloadOf<{ exp?: unknown }>(token);
    const user = payload && claimsFrom(payload);
    if (user && this.verified && typeof payload.exp === 'number') {
      // jsonwebtoken refuses a token once floor(now / 1000) >= exp, i.e. from exp * 1000 ms on.
      this.verified.set(token, { user, expiresAt: payload.exp * 1000 });
    }
    return user;
  }
}
