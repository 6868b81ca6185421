import { Controller, Delete, Get, Headers, HttpCode, Inject, Param, Post, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { CurrentUser } from '../auth/auth.decorators.js';
import type { AuthUser } from '../auth/auth.types.js';
import { RoomService, type QueueView } from './room.service.js';

/** A sale's waiting room, for signed-in shoppers: join, my place, leave. */
@Controller('sales')
export class RoomController {
  constructor(@Inject(RoomService) private readonly room: RoomService) {}

  /** Join the queue (idempotent: a second tab or a retry gets the same place). */
  @Post(':id/queue')
  @HttpCode(200)
  join(@Param('id') saleId: string, @CurrentUser() user: AuthUser, @Req() request: FastifyRequest): Promise<QueueView> {
    return this.room.join(saleId, user.id, { ip: request.ip, headers: request.headers });
  }

  /** My place: poll no sooner than refreshAfterSeconds, sending back the Queue-Token of the last answer. */
  @Get(':id/queue')
  place(
    @Param('id') saleId: string,
    @CurrentUser() user: AuthUser,
    @Headers('queue-token') queueToken: string | undefined,
  ): Promise<QueueView> {
    return this.room.place(saleId, user.id, queueToken);
  }

  /** Leave the queue (an unused admission is given up: the slot goes to the next shopper). */
  @Delete(':id/queue')
  leave(@Param('id') saleId: string, @CurrentUser() user: AuthUser): Promise<QueueView> {
    return this.room.leave(saleId, user.id);
  }
}
