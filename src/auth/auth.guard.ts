import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Role } from '../generated/prisma/client.js';
import { DomainError } from '../infra/errors/domain-error.js';
import { IS_PUBLIC, ROLES, type AuthedRequest } from './auth.decorators.js';
import { TokenVerifier } from './token-verifier.js';

/**
 * Global guard: a valid bearer token on every route not marked @Public();
 * @Roles() narrows it further. Missing, tampered or expired token, or
 * claims this API never issues (see claimsFrom): 401.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(TokenVerifier) private readonly tokens: TokenVerifier,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const request = context.switchToHttp().getRequest<AuthedRequest>();
    const header = request.headers.authorization;
    if (!header?.startsWith('Bearer ') || !header.slice(7).trim()) {
      throw new DomainError('UNAUTHORIZED', 'A bearer token is required');
    }
    const user = this.tokens.userOf(header);
    if (!user) throw new DomainError('UNAUTHORIZED', 'The token is invalid or expired');
    request.user = user;
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES, targets);
    if (roles && !roles.includes(user.role)) throw new DomainError('FORBIDDEN', 'This needs the admin role');
    return true;
  }
}
