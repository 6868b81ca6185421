import { Controller, Get, Inject, Param, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CurrentUser } from '../auth/auth.decorators.js';
import type { AuthUser } from '../auth/auth.types.js';
import { PageQueryDto } from '../infra/http/page-query.dto.js';
import { OrderEventsHub } from './order-events.hub.js';
import { FINAL_STATUSES, STATUS_RANK, type StatusChange } from './order-status.js';
import { OrdersService, type OrderView } from './orders.service.js';

const HEARTBEAT_MS = 15_000;
const MAX_STREAM_MS = 30 * 60_000;

@Controller()
export class OrdersController {
  constructor(
    @Inject(OrdersService) private readonly orders: OrdersService,
    @Inject(OrderEventsHub) private readonly hub: OrderEventsHub,
  ) {}

  @Get('orders/:id')
  get(@Param('id') id: string, @CurrentUser() user: AuthUser): Promise<OrderView> {
    return this.orders.get(id, user);
  }

  @Get('me/orders')
  mine(@CurrentUser() user: AuthUser, @Query() query: PageQueryDto) {
    return this.orders.mine(user, query.page, query.pageSize);
  }

  /**
   * Server-sent events: `event: status` with {orderId, status, reason?} for
   * the current status and each change after it, ending at a final status.
   */
  @Get('orders/:id/events')
  async events(
    @Param('id') id: string,
    @CurrentUser() user: AuthUser,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.orders.get(id, user); // 404 before the stream opens
    let last = -1;
    let closed = false;
    const raw = reply.raw;
    const queue: StatusChange[] = [];
    let ready = false;
    const send = (change: StatusChange): void => {
      if (closed || STATUS_RANK[change.status] <= last) return;
      last = STATUS_RANK[change.status];
      raw.write(`event: status\ndata: ${JSON.stringify(change)}\n\n`);
      if (FINAL_STATUSES.includes(change.status)) close();
    };
    const close = (): void => {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      clearTimeout(lifetime);
      stop?.();
      raw.end();
    };
    // Subscribe before reading the current status so no change falls in between.
    const stop = await this.hub.listen(id, (change) => (ready ? send(change) : queue.push(change)));
    reply.hijack();
    raw.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-request-id': request.id,
    });
    const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), HEARTBEAT_MS);
    const lifetime = setTimeout(close, MAX_STREAM_MS);
    request.raw.on('close', close);
    try {
      const current = await this.orders.get(id, user);
      send({ orderId: id, status: current.status, reason: current.failureReason });
    } catch {
      close();
      return;
    }
    ready = true;
    for (const change of queue.splice(0)) send(change);
  }
}
