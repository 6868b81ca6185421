import { Inject, Injectable, Logger } from '@nestjs/common';
import type { AuthUser } from '../auth/auth.types.js';
import { OutboxWriter, type NewEvent } from '../events/outbox.js';
import { MicroBatcher } from '../infra/batching/micro-batcher.js';
import { AppConfig } from '../infra/config/app-config.js';
import { DomainError } from '../infra/errors/domain-error.js';
import {
  EventName,
  expireJobId,
  JOB_QUEUE,
  JobName,
  UNTIL_DONE_ATTEMPTS,
  type CancelReason,
} from '../infra/queues/queues.js';
import { QueueService } from '../infra/queues/queues.module.js';
import { OrderStatusPublisher } from './order-status.js';
import { OrdersRepository, type OrderRow } from './orders.repository.js';
import { PAYMENT_PROVIDER, PaymentUnavailable, type PaymentProvider } from './payments/payment-provider.js';
import { ULID, ulidFactory } from '../infra/ids/ids.js';

/** What a reason is called on the order (failure_reason) and in messages. */
export const CANCEL_REASONS: Record<CancelReason, string> = {
  timeout: 'PAYMENT_TIMEOUT',
  requested: 'CANCELLED_BY_REQUEST',
};

/**
 * Payment, cancellation and the payment timeout. Every change is one
 * conditional UPDATE in Postgres with its outbox event in the same
 * transaction: a payment and a timeout (or a cancel) racing on one order
 * resolve to exactly one of them; the other changes nothing.
 */
@Injectable()
export class OrderLifecycleService {
  private readonly logger = new Logger('OrderLifecycle');
  private readonly nextId = ulidFactory();
  private readonly expiries: MicroBatcher<string>;

  constructor(
    @Inject(OrdersRepository) private readonly orders: OrdersRepository,
    @Inject(OutboxWriter) private readonly outbox: OutboxWriter,
    @Inject(OrderStatusPublisher) private readonly status: OrderStatusPublisher,
    @Inject(PAYMENT_PROVIDER) private readonly provider: PaymentProvider,
    @Inject(QueueService) private readonly queues: QueueService,
    @Inject(AppConfig) config: AppConfig,
  ) {
    this.expiries = new MicroBatcher((ids) => this.expireBatch(ids), config.BATCH_SIZE);
  }

  /**
   * Pays an AWAITING_PAYMENT order (owner only). The order's row stays locked
   * from the check through the charge to the update, so a timeout or cancel
   * waits and then finds PAID, or ran first and the payment finds CANCELLED
   * and charges nothing. PAID already: returned unchanged (a retried payment
   * charges once). The provider gets `order-<id>-<Idempotency-Key>` (default: `order-<id>`).
   */
  async pay(orderId: string, caller: AuthUser, idempotencyKey?: string): Promise<{ id: string }> {
    if (!ULID.test(orderId)) throw notFound();
    const paid = await this.orders.transaction(async (tx) => {
      const order = await this.orders.lockForPayment(tx, orderId);
      if (!order) throw notFound();
      if (order.userId !== caller.id)
        throw new DomainError('FORBIDDEN', 'Only the shopper who placed the order can pay it');
      if (order.status === 'PAID') return null;
      if (order.status !== 'AWAITING_PAYMENT' || !order.open) throw notPayable(order.status, order.open);
      // Scoped to the order: the same client key on two orders must not replay
      // the first order's approval at the provider.
      const key = idempotencyKey ? `order-${order.id}-${idempotencyKey}` : `order-${order.id}`;
      let result;
      try {
        result = await this.provider.charge({
          orderId: order.id,
          userId: order.userId,
          amount: order.amount,
          idempotencyKey: key,
        });
      } catch (err) {
        if (err instanceof PaymentUnavailable) {
          throw new DomainError('PAYMENT_UNAVAILABLE', 'The payment could not be made; nothing was charged, try again');
        }
        throw err;
      }
      if (!result.approved) throw new DomainError('PAYMENT_DECLINED', `The payment was declined: ${result.reason}`);
      const paymentId = this.nextId();
      const done = await this.orders.markPaid(tx, order.id, {
        id: paymentId,
        provider: this.provider.name,
        idempotencyKey: key,
        reference: result.reference,
      });
      if (!done) throw new Error(`order ${order.id} changed under its row lock`);
      await this.outbox.write(tx, [
        {
          type: EventName.OrderPaid,
          aggregateId: order.id,
          payload: {
            orderId: order.id,
            saleId: order.saleId,
            userId: order.userId,
            quantity: order.quantity,
            amount: order.amount,
            paymentId,
            paidAt: done.paidAt.toISOString(),
          },
        },
      ]);
      return order;
    });
    if (paid) await this.status.publish([{ orderId: paid.id, status: 'PAID' }]);
    return { id: orderId };
  }

  /**
   * Cancels a PENDING or AWAITING_PAYMENT order (owner or admin). Already
   * CANCELLED: returned unchanged. PAID or FAILED, or not persisted yet
   * (QUEUED): 409 ORDER_NOT_CANCELLABLE.
   */
  async cancel(orderId: string, caller: AuthUser): Promise<{ id: string }> {
    if (!ULID.test(orderId)) throw notFound();
    const order = await this.orders.findById(orderId);
    if (!order || (order.userId !== caller.id && caller.role !== 'ADMIN')) throw notFound();
    const [cancelled] = await this.orders.transaction(async (tx) => {
      const rows = await this.orders.cancel(
        tx,
        [orderId],
        ['PENDING', 'AWAITING_PAYMENT'],
        CANCEL_REASONS.requested,
        false,
      );
      await this.outbox.write(
        tx,
        rows.map((o) => cancelledEvent(o, 'requested')),
      );
      return rows;
    });
    if (cancelled) {
      await this.status.publish([{ orderId, status: 'CANCELLED', reason: CANCEL_REASONS.requested }]);
      return { id: orderId };
    }
    const now = await this.orders.findById(orderId);
    if (now?.status === 'CANCELLED') return { id: orderId };
    throw new DomainError(
      'ORDER_NOT_CANCELLABLE',
      `The order is ${now?.status ?? order.status}; it cannot be cancelled`,
    );
  }

  /** The payment deadline job of one order (batched with the others firing together). */
  expire(orderId: string): Promise<void> {
    return this.expiries.submit([orderId]);
  }

  /**
   * AWAITING_PAYMENT orders past their deadline → CANCELLED (reason timeout)
   * with `order.cancelled`. A job that fired before the deadline (clocks)
   * is put back for the rest of the wait; PAID or CANCELLED ones are left alone.
   */
  private async expireBatch(ids: string[]): Promise<void> {
    const unique = [...new Set(ids)];
    const cancelled = await this.orders.transaction(async (tx) => {
      const rows = await this.orders.cancel(tx, unique, ['AWAITING_PAYMENT'], CANCEL_REASONS.timeout, true);
      await this.outbox.write(
        tx,
        rows.map((o) => cancelledEvent(o, 'timeout')),
      );
      return rows;
    });
    await this.status.publish(
      cancelled.map((o) => ({ orderId: o.id, status: 'CANCELLED' as const, reason: CANCEL_REASONS.timeout })),
    );
    // Whatever is still AWAITING_PAYMENT was not due yet when the cancel ran
    // (the job fired early, or the deadline passed between the two queries):
    // wait again for the rest, as Postgres's clock counts it, under a new job id.
    const done = new Set(cancelled.map((o) => o.id));
    for (const early of await this.orders.stillAwaiting(unique.filter((id) => !done.has(id)))) {
      this.logger.warn(`order ${early.id}: expiry fired ${early.waitMs} ms early, waiting again`);
      await this.queues.enqueue(
        JobName.ExpireOrder,
        { orderId: early.id },
        {
          jobId: `${expireJobId(early.id)}-${Date.now()}`,
          delay: Math.max(50, early.waitMs + 10),
          attempts: UNTIL_DONE_ATTEMPTS,
        },
      );
    }
  }

  /**
   * Delayed expiry jobs for orders that just became AWAITING_PAYMENT: one per
   * event row and second of deadline, due at the end of that second (job id
   * from both, so a redelivered event schedules nothing twice).
   */
  async scheduleExpiries(orders: { eventId: string; orderId: string; paymentDeadline: string }[]): Promise<void> {
    if (orders.length === 0) return;
    const jobs = new Map<string, { dueAt: number; orderIds: string[] }>();
    for (const o of orders) {
      const dueAt = Math.ceil(new Date(o.paymentDeadline).getTime() / 1000) * 1000;
      const id = `expire-${o.eventId}-${dueAt / 1000}`;
      const job = jobs.get(id);
      if (job) job.orderIds.push(o.orderId);
      else jobs.set(id, { dueAt, orderIds: [o.orderId] });
    }
    const now = Date.now();
    await this.queues.queue(JOB_QUEUE[JobName.ExpireOrders]).addBulk(
      [...jobs].map(([jobId, { dueAt, orderIds }]) => ({
        name: JobName.ExpireOrders,
        data: { orderIds },
        opts: { jobId, delay: Math.max(0, dueAt - now), attempts: UNTIL_DONE_ATTEMPTS },
      })),
    );
  }

  /** The orders of one `orders.expire` job (batched with the others firing together). */
  expireAll(orderIds: string[]): Promise<void> {
    return this.expiries.submit(orderIds);
  }
}

function cancelledEvent(o: OrderRow, reason: CancelReason): NewEvent<typeof EventName.OrderCancelled> {
  return {
    type: EventName.OrderCancelled,
    aggregateId: o.id,
    payload: {
      orderId: o.id,
      saleId: o.saleId,
      userId: o.userId,
      quantity: o.quantity,
      amount: o.amount,
      reason,
    },
  };
}

function notFound(): DomainError {
  return new DomainError('ORDER_NOT_FOUND', 'No such order');
}

function notPayable(status: string, open: boolean): DomainError {
  const why =
    status === 'AWAITING_PAYMENT' && !open
      ? 'its payment deadline has passed'
      : status === 'PENDING'
        ? 'its stock is not reserved yet; try again in a moment'
        : `it is ${status}`;
  return new DomainError('ORDER_NOT_PAYABLE', `The order cannot be paid: ${why}`);
}
