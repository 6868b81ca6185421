import { Inject, Injectable, Logger } from '@nestjs/common';
import { OutboxWriter } from '../events/outbox.js';
import { MicroBatcher } from '../infra/batching/micro-batcher.js';
import { QueueConfig } from '../infra/config/app-config.js';
import { QueueService } from '../infra/queues/queues.module.js';
import { expireJobId, JobName, UNTIL_DONE_ATTEMPTS, type JobData } from '../infra/queues/queues.js';
import { CANCEL_REASONS, cancelledEvent } from './order.events.js';
import { OrderStatusPublisher } from './order-status.js';
import { OrdersRepository } from './orders.repository.js';

/**
 * The payment-deadline jobs, built here only. Each cancels the orders still
 * unpaid when it fires (AWAITING_PAYMENT past their deadline) and is retried
 * until done: a deadline must never be dropped, a database outage only
 * delays it.
 */

/**
 * The deadline of one order. `again`: a fresh job id (`expire-<order>-<now>`)
 * for a second wait, as an expiry that fired early or a claim given back after
 * the deadline need; without it the id is `expire-<order>`, so scheduling the
 * same order twice (a rebuilt gate) adds nothing twice.
 */
export function expireOrderJob(
  orderId: string,
  { delay = 0, again = false }: { delay?: number; again?: boolean } = {},
) {
  return {
    name: JobName.ExpireOrder,
    data: { orderId } satisfies JobData[typeof JobName.ExpireOrder],
    opts: {
      jobId: again ? `${expireJobId(orderId)}-${Date.now()}` : expireJobId(orderId),
      delay: Math.max(0, delay),
      attempts: UNTIL_DONE_ATTEMPTS,
    },
  };
}

/** The deadlines of several orders falling due together, under a job id the caller derives from what it carries. */
export function expireOrdersJob(jobId: string, orderIds: string[], delay = 0) {
  return {
    name: JobName.ExpireOrders,
    data: { orderIds } satisfies JobData[typeof JobName.ExpireOrders],
    opts: { jobId, delay: Math.max(0, delay), attempts: UNTIL_DONE_ATTEMPTS },
  };
}

/**
 * Payment deadlines (worker side, and the API's payments asking for a second
 * look): AWAITING_PAYMENT orders past their deadline are cancelled with
 * `order.cancelled`, in batches (expiries firing together are cancelled in
 * one transaction); delayed jobs are scheduled for orders that just became
 * AWAITING_PAYMENT. A payment that claimed its order before the deadline is
 * waited for (the conditional cancel leaves a claimed order alone).
 */
@Injectable()
export class PaymentDeadlines {
  private readonly logger = new Logger('PaymentDeadlines');
  private readonly expiries: MicroBatcher<string>;

  constructor(
    @Inject(OrdersRepository) private readonly orders: OrdersRepository,
    @Inject(OutboxWriter) private readonly outbox: OutboxWriter,
    @Inject(OrderStatusPublisher) private readonly status: OrderStatusPublisher,
    @Inject(QueueService) private readonly queues: QueueService,
    @Inject(QueueConfig) queueConfig: QueueConfig,
  ) {
    this.expiries = new MicroBatcher((ids) => this.expireBatch(ids), queueConfig.BATCH_SIZE);
  }

  /** The payment deadline job of one order (batched with the others firing together). */
  expire(orderId: string): Promise<void> {
    return this.expiries.submit([orderId]);
  }

  /** The orders of one `orders.expire` job (batched with the others firing together). */
  expireAll(orderIds: string[]): Promise<void> {
    return this.expiries.submit(orderIds);
  }

  /**
   * Asks for the expiry of one order to run now, under a fresh job id (a
   * payment gave its claim back after the deadline, which the timeout's job
   * had waited for).
   */
  async recheck(orderId: string): Promise<void> {
    const job = expireOrderJob(orderId, { again: true });
    await this.queues.enqueue(job.name, job.data, job.opts);
  }

  /**
   * AWAITING_PAYMENT orders past their deadline → CANCELLED (reason timeout)
   * with `order.cancelled`. A job that fired before the deadline (clocks)
   * is put back for the rest of the wait; PAID or CANCELLED ones are left alone.
   */
  private async expireBatch(ids: string[]): Promise<void> {
    const unique = [...new Set(ids)];
    const cancelled = await this.orders.transaction(async (tx) => {
      const rows = await this.orders.cancel(tx, unique, {
        from: ['AWAITING_PAYMENT'],
        reason: CANCEL_REASONS.timeout,
        pastDeadlineOnly: true,
      });
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
      const job = expireOrderJob(early.id, { delay: Math.max(50, early.waitMs + 10), again: true });
      await this.queues.enqueue(job.name, job.data, job.opts);
    }
  }

  /**
   * Delayed expiry jobs for orders that just became AWAITING_PAYMENT: one per
   * event row and second of deadline, due at the end of that second (job id
   * from both, so a redelivered event schedules nothing twice).
   */
  async schedule(orders: { eventId: string; orderId: string; paymentDeadline: string }[]): Promise<void> {
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
    await this.queues.enqueueBulk(
      [...jobs].map(([jobId, { dueAt, orderIds }]) => expireOrdersJob(jobId, orderIds, dueAt - now)),
    );
  }
}
