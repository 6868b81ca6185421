import { Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest, onRequestHookHandler } from 'fastify';
import type { TokenClaims } from '../../auth/auth.types.js';
import { TokenVerifier } from '../../auth/token-verifier.js';
import type { ErrorBody } from '../../infra/http/all-exceptions.filter.js';
import { StaticPages } from './static-pages.js';

/** The cookie holding an admin's token for the browser pages under /admin (HttpOnly, SameSite=Strict). */
export const ADMIN_COOKIE = 'flash_admin';
const COOKIE_PATH = '/admin';

export interface AdminSession {
  status: 'signed-in';
  /** When the session (the token) expires. */
  expiresAt: Date;
}

type Claims = TokenClaims & { exp?: number };
type Verdict = { ok: true; claims: Claims } | { ok: false; body: ErrorBody };

function refusal(statusCode: 401 | 403, message: string): Verdict {
  return { ok: false, body: { statusCode, code: statusCode === 401 ? 'UNAUTHORIZED' : 'FORBIDDEN', message } };
}

/** The value of one cookie in a Cookie header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

/**
 * Admin-only access for the browser pages the API serves outside Nest's
 * routing (the queue dashboard, the live view): Nest's guards do not run
 * there, so a Fastify onRequest hook checks every route of those scopes,
 * HTML, static files and JSON API alike. The token comes from an
 * `Authorization: Bearer` header (scripts) or from the admin cookie that
 * POST /admin/session sets (browsers cannot add a header to a page load or
 * to EventSource).
 */
@Injectable()
export class AdminAccess {
  constructor(
    @Inject(TokenVerifier) private readonly tokens: TokenVerifier,
    @Inject(StaticPages) private readonly pages: StaticPages,
  ) {}

  verify(token: string | undefined): Verdict {
    if (!token) return refusal(401, 'Admin sign-in required');
    const claims = this.tokens.payloadOf<Claims>(token);
    if (!claims || typeof claims.sub !== 'string') return refusal(401, 'The token is invalid or expired');
    if (claims.role !== 'ADMIN') return refusal(403, 'This needs the admin role');
    return { ok: true, claims };
  }

  check(request: FastifyRequest): Verdict {
    const header = request.headers.authorization;
    const bearer = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
    return this.verify(bearer ?? readCookie(request.headers.cookie, ADMIN_COOKIE));
  }

  /** The onRequest hook of an admin-only scope: 401/403 in the API's error shape, or the sign-in page for a browser. */
  readonly hook: onRequestHookHandler = (request, reply, done) => {
    const verdict = this.check(request);
    if (verdict.ok) return done();
    const wantsPage = request.method === 'GET' && (request.headers.accept ?? '').includes('text/html');
    void reply.header('cache-control', 'no-store').header('x-request-id', request.id);
    if (wantsPage) {
      void reply.status(verdict.body.statusCode).type('text/html; charset=utf-8').send(this.pages.get('login.html'));
    } else {
      void reply.status(verdict.body.statusCode).send(verdict.body);
    }
  };

  /** Set-Cookie for a browser session lasting as long as the token. */
  sessionCookie(token: string, expiresAt: number, request: FastifyRequest): string {
    const maxAge = Math.max(0, Math.floor(expiresAt - Date.now() / 1000));
    const secure = request.protocol === 'https' ? '; Secure' : '';
    return `${ADMIN_COOKIE}=${encodeURIComponent(token)}; Path=${COOKIE_PATH}; Max-Age=${maxAge}; HttpOnly; SameSite=Strict${secure}`;
  }

  clearedCookie(): string {
    return `${ADMIN_COOKIE}=; Path=${COOKIE_PATH}; Max-Age=0; HttpOnly; SameSite=Strict`;
  }
}
