import { Controller, Get, Inject, Query, Sse, SseSignal, type MessageEvent } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { EMPTY, Observable, type Subscriber } from 'rxjs';
import { CurrentUser } from '../auth/auth.decorators.js';
import type { AuthUser } from '../auth/auth.types.js';
import { OrderId } from '../infra/http/id-params.js';
import { PageQueryDto } from '../infra/http/page-query.dto.js';
import { Answers } from '../infra/openapi/answers.js';
import { EXAMPLE } from '../infra/openapi/examples.js';
import { OpenStreams } from './open-streams.js';
import { OrderEventsHub } from './order-events.hub.js';
import { FINAL_STATUSES, STATUS_RANK, type StatusChange } from './order-status.js';
import { ORDER_VIEW_EXAMPLE, OrderPageDto, OrderViewDto } from './order-views.dto.js';
import { OrdersService, type OrderView } from './orders.service.js';

const HEARTBEAT_MS = 15_000;
const MAX_STREAM_MS = 30 * 60_000;
/** A comment line (`: keep-alive`): clients ignore it, proxies see traffic. */
const HEARTBEAT = { comment: 'keep-alive' } as unknown as MessageEvent;

@ApiTags('orders')
@Controller()
export class OrdersController {
  constructor(
    @Inject(OrdersService) private readonly orders: OrdersService,
    @Inject(OrderEventsHub) private readonly hub: OrderEventsHub,
    @Inject(OpenStreams) private readonly streams: OpenStreams,
  ) {}

  @Get('orders/:id')
  @Answers({ status: 200, body: OrderViewDto, example: ORDER_VIEW_EXAMPLE, errors: ['ORDER_NOT_FOUND'] })
  get(@OrderId() id: string, @CurrentUser() user: AuthUser): Promise<OrderView> {
    return this.orders.get(id, user);
  }

  @Get('me/orders')
  @Answers({
    status: 200,
    body: OrderPageDto,
    example: { items: [ORDER_VIEW_EXAMPLE], page: 1, pageSize: 20, total: 1 },
  })
  mine(@CurrentUser() user: AuthUser, @Query() query: PageQueryDto) {
    return this.orders.mine(user, query.page, query.pageSize);
  }

  /**
   * Server-sent events (Nest's `@Sse()`): `event: status` with {orderId,
   * status, reason?} for the current status and each change after it, ending
   * at a final status; a comment line every HEARTBEAT_MS keeps proxies from
   * timing the stream out; it ends after MAX_STREAM_MS at the latest.
   *
   * Whatever the stream holds (its slot in OpenStreams, the Redis channel, the
   * heartbeat, the lifetime timer) is let go once, however the stream ends: a
   * final status, the lifetime, shutdown, an error in set-up, or the client
   * leaving at any moment, set-up included. Nest aborts the handler's signal
   * on every one of those ends (@SseSignal), and every await of set-up is
   * followed by a check of it. Refusals before the stream opens (404, 429
   * TOO_MANY_STREAMS, 503 STREAMS_BUSY) are answered by the exception filter.
   */
  @Sse('orders/:id/events')
  @Answers({
    status: 200,
    media: 'text/event-stream',
    example: `event: status\ndata: {"orderId":"${EXAMPLE.orderId}","status":"PENDING"}\n\nevent: status\ndata: {"orderId":"${EXAMPLE.orderId}","status":"AWAITING_PAYMENT"}\n\n`,
    errors: ['ORDER_NOT_FOUND', 'TOO_MANY_STREAMS', 'STREAMS_BUSY'],
  })
  async events(
    @OrderId() id: string,
    @CurrentUser() user: AuthUser,
    @SseSignal() signal: AbortSignal,
  ): Promise<Observable<MessageEvent>> {
    let out: Subscriber<MessageEvent> | undefined;
    let ended = false;
    const end = (): void => {
      ended = true;
      out?.complete();
    };
    const release = this.streams.open(user.id, end); // throws over the caps, holding nothing
    const held: { stop?: () => void; heartbeat?: NodeJS.Timeout; lifetime?: NodeJS.Timeout } = {};
    const letGo = (): void => {
      release();
      held.stop?.();
      clearInterval(held.heartbeat);
      clearTimeout(held.lifetime);
    };
    if (signal.aborted) {
      letGo(); // left before this handler ran
      return EMPTY;
    }
    signal.addEventListener('abort', letGo, { once: true });

    await this.orders.get(id, user); // 404 before the stream opens
    if (signal.aborted) return EMPTY;
    // Subscribe before reading the current status so no change falls in between.
    const early: StatusChange[] = [];
    let deliver: ((change: StatusChange) => void) | undefined;
    held.stop = await this.hub.listen(id, (change) => (deliver ? deliver(change) : early.push(change)));
    if (signal.aborted) {
      held.stop(); // the client left while the subscription was being made
      return EMPTY;
    }

    return new Observable<MessageEvent>((subscriber) => {
      out = subscriber;
      if (ended) return subscriber.complete();
      let last = -1;
      const send = (change: StatusChange): void => {
        if (subscriber.closed || STATUS_RANK[change.status] <= last) return;
        last = STATUS_RANK[change.status];
        subscriber.next({ type: 'status', data: change });
        if (FINAL_STATUSES.includes(change.status)) subscriber.complete();
      };
      held.heartbeat = setInterval(() => subscriber.next(HEARTBEAT), HEARTBEAT_MS);
      held.lifetime = setTimeout(() => subscriber.complete(), MAX_STREAM_MS);
      this.orders.get(id, user).then(
        (current) => {
          send({ orderId: id, status: current.status, reason: current.failureReason });
          deliver = send;
          for (const change of early.splice(0)) send(change);
        },
        () => subscriber.complete(),
      );
    });
  }
}
