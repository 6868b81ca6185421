import { Controller, Delete, Get, Headers, HttpCode, Inject, Post, Req } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { CurrentUser } from '../auth/auth.decorators.js';
import { DEVICE_ID_HEADER } from '../bots/bot-views.dto.js';
import type { AuthUser } from '../auth/auth.types.js';
import type { ErrorCode } from '../infra/errors/error-codes.js';
import { SaleId } from '../infra/http/id-params.js';
import { Answers } from '../infra/openapi/answers.js';
import { EXAMPLE } from '../infra/openapi/examples.js';
import { QUEUE_VIEW_EXAMPLE, QueueViewDto } from './queue-view.dto.js';
import { RoomService, type QueueView } from './room.service.js';

const QUEUE_ERRORS: ErrorCode[] = ['SALE_NOT_FOUND', 'NO_WAITING_ROOM', 'UNAVAILABLE'];

/** A sale's waiting room, for signed-in shoppers: join, my place, leave. */
@ApiTags('storefront')
@Controller('sales')
export class RoomController {
  constructor(@Inject(RoomService) private readonly room: RoomService) {}

  /** Join the queue (idempotent: a second tab or a retry gets the same place). */
  @Post(':id/queue')
  @HttpCode(200)
  @Answers({
    status: 200,
    body: QueueViewDto,
    example: QUEUE_VIEW_EXAMPLE,
    errors: [
      ...QUEUE_ERRORS,
      'QUEUE_CLOSED',
      'QUEUE_NOT_OPEN',
      'QUEUE_FULL',
      'CHALLENGE_REQUIRED',
      'CHALLENGE_MALFORMED',
      'CHALLENGE_INVALID',
      'CHALLENGE_EXPIRED',
      'CHALLENGE_USED',
      'CHALLENGE_STALE',
      'JOIN_REFUSED',
    ],
    headers: [
      {
        name: 'Join-Proof',
        description:
          'On a room with anti-bot rules: `<challenge>:<n>`, the challenge of GET /sales/{id}/queue/challenge and the number that solves it (one join per challenge).',
      },
      DEVICE_ID_HEADER,
    ],
  })
  join(@SaleId() saleId: string, @CurrentUser() user: AuthUser, @Req() request: FastifyRequest): Promise<QueueView> {
    return this.room.join(saleId, user.id, { ip: request.ip, headers: request.headers });
  }

  /** My place: poll no sooner than refreshAfterSeconds, sending back the Queue-Token of the last answer. */
  @Get(':id/queue')
  @Answers({
    status: 200,
    body: QueueViewDto,
    example: {
      ...QUEUE_VIEW_EXAMPLE,
      state: 'admitted',
      position: null,
      estimatedWaitSeconds: { low: 0, high: 0 },
      refreshAfterSeconds: 10,
      admission: { token: 'mhe2b3k0.mhe2c7s0.aQ3r9Zt1LwX0c8YpV2nB4g', expiresAt: EXAMPLE.later },
      queueToken: null,
    },
    errors: QUEUE_ERRORS,
    headers: [
      {
        name: 'Queue-Token',
        description:
          'The queueToken of the last answer: a poll before its refreshAfterSeconds is answered from it, without touching the queue.',
      },
    ],
  })
  place(
    @SaleId() saleId: string,
    @CurrentUser() user: AuthUser,
    @Headers('queue-token') queueToken: string | undefined,
  ): Promise<QueueView> {
    return this.room.place(saleId, user.id, queueToken);
  }

  /** Leave the queue (an unused admission is given up: the slot goes to the next shopper). */
  @Delete(':id/queue')
  @Answers({
    status: 200,
    body: QueueViewDto,
    example: { ...QUEUE_VIEW_EXAMPLE, state: 'left', position: null, queueToken: null },
    errors: QUEUE_ERRORS,
  })
  leave(@SaleId() saleId: string, @CurrentUser() user: AuthUser): Promise<QueueView> {
    return this.room.leave(saleId, user.id);
  }
}
