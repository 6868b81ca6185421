import { Controller, Delete, HttpCode, Inject, Logger, Post, Req, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Public, Roles } from '../../auth/auth.decorators.js';
import { Answers } from '../../infra/openapi/answers.js';
import { EXAMPLE } from '../../infra/openapi/examples.js';
import { AdminAccess, type AdminSession } from './admin-access.js';
import { AdminSessionDto } from './admin-session.dto.js';

@ApiTags('ops')
@Controller('admin/session')
export class AdminSessionController {
  private readonly logger = new Logger('AdminSession');

  constructor(@Inject(AdminAccess) private readonly access: AdminAccess) {}

  /**
   * Opens the browser pages under /admin (queue dashboard, live view) for
   * the admin whose bearer token comes with this request: the token goes into
   * an HttpOnly, SameSite=Strict cookie scoped to /admin, valid as long as
   * the token. Get the token from POST /auth/login.
   */
  @Post()
  @HttpCode(200)
  @Roles('ADMIN')
  @Answers({ status: 200, body: AdminSessionDto, example: { status: 'signed-in', expiresAt: EXAMPLE.later } })
  open(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): AdminSession {
    const token = request.headers.authorization!.slice(7).trim(); // the guard has checked it
    const verdict = this.access.verify(token);
    const expiresAt = verdict.ok && typeof verdict.claims.exp === 'number' ? verdict.claims.exp : Date.now() / 1000;
    if (verdict.ok) this.logger.log(`admin ${verdict.claims.sub} opened a browser session for the /admin pages`);
    void reply
      .header('set-cookie', this.access.sessionCookie(token, expiresAt, request))
      .header('cache-control', 'no-store');
    return { status: 'signed-in', expiresAt: new Date(expiresAt * 1000) };
  }

  /** Signs the browser out of the /admin pages (clears the cookie). */
  @Delete()
  @HttpCode(204)
  @Public()
  @Answers({ status: 204 })
  close(@Res({ passthrough: true }) reply: FastifyReply): void {
    void reply.header('set-cookie', this.access.clearedCookie());
  }
}
