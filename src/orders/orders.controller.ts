import { Controller, Get, Inject, Param, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { CurrentUser } from '../auth/auth.decorators.js';
import type { AuthUser } from '../auth/auth.types.js';
import { PageQueryDto } from '../infra/http/page-query.dto.js';
import { OpenStreams } from './open-streams.js';
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
    @Inject(OpenStreams) private readonly streams: OpenStreams,
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
   *
   * Whatever the stream holds (its slot in OpenStreams, the Redis channel, the
   * heartbeat, the lifetime timer) is let go in `close`, exactly once, however
   * the stream ends: a final status, the lifetime, an error in set-up, or the
   * client leaving at any moment, set-up included (the response's `close` is
   * watched from the first line, and every await of set-up is followed by a
   * check). Over the caps: 429 TOO_MANY_STREAMS, 503 STREAMS_BUSY.
   */
  @Get('orders/:id/events')
  async events(@Param('id') id: string, @CurrentUser() user: AuthUser, @Res() reply: FastifyReply): Promise<void> {
    const raw = reply.raw;
    let closed = false;
    let streaming = false;
    let stop: (() => void) | undefined;
    const timers: { heartbeat?: NodeJS.Timeout; lifetime?: NodeJS.Timeout } = {};
    const close = (): void => {
      if (closed) return;
      closed = true;
      release();
      clearInterval(timers.heartbeat);
      clearTimeout(timers.lifetime);
      stop?.();
      if (streaming) raw.end();
    };
    const release = this.streams.open(user.id, close);
    raw.once('close', close);
    if (raw.destroyed) close(); // left before this handler ran

    let last = -1;
    const queue: StatusChange[] = [];
    let ready = false;
    const send = (change: StatusChange): void => {
      if (closed || STATUS_RANK[change.status] <= last) return;
      last = STATUS_RANK[change.status];
      raw.write(`event: status\ndata: ${JSON.stringify(change)}\n\n`);
      if (FINAL_STATUSES.includes(change.status)) close();
    };
    try {
      if (!closed) await this.orders.get(id, user); // 404 before the stream opens
      // Subscribe before reading the current status so no change falls in between.
      if (!closed) stop = await this.hub.listen(id, (change) => (ready ? send(change) : queue.push(change)));
    } catch (err) {
      close();
      throw err; // answered by the exception filter (the stream never opened)
    }
    reply.hijack();
    if (closed) {
      stop?.(); // the client left while the subscription was being made
      return;
    }
    streaming = true;
    // Security headers, CORS and x-request-id are already on the Node response (onRequest hooks).
    raw.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    timers.heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), HEARTBEAT_MS);
    timers.lifetime = setTimeout(close, MAX_STREAM_MS);
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
