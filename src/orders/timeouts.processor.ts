import { Inject, Injectable } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import { JobConsumer, OnJob } from '../infra/queues/on-job.js';
import { EventName, JobName, QueueName, type JobData } from '../infra/queues/queues.js';
import { eventsOf } from '../events/event-batch.js';
import { PaymentDeadlines } from './payment-deadlines.js';

/**
 * Payment deadlines: `order.confirmed` (orders entered AWAITING_PAYMENT)
 * schedules delayed `orders.expire` jobs, one per confirmed batch and second
 * of deadline, due at the end of that second; the job cancels the orders
 * still unpaid. No table scans. (`order.expire`, one order, is what the
 * gate rebuild and an early-firing expiry schedule.)
 */
@Injectable()
@JobConsumer(QueueName.Timeouts)
export class TimeoutsProcessor {
  constructor(@Inject(PaymentDeadlines) private readonly deadlines: PaymentDeadlines) {}

  @OnJob(EventName.OrderConfirmed)
  confirmed(job: Job): Promise<void> {
    const events = eventsOf(job.data, EventName.OrderConfirmed);
    return this.deadlines.schedule(
      events.map((e) => ({
        eventId: e.eventId,
        orderId: e.payload.orderId,
        paymentDeadline: e.payload.paymentDeadline,
      })),
    );
  }

  @OnJob(JobName.ExpireOrders)
  async expireOrders(job: Job): Promise<void> {
    const { orderIds } = job.data as Partial<JobData[typeof JobName.ExpireOrders]>;
    if (!Array.isArray(orderIds) || !orderIds.every((id) => typeof id === 'string')) {
      throw new UnrecoverableError('orders.expire needs orderIds');
    }
    return this.deadlines.expireAll(orderIds);
  }

  @OnJob(JobName.ExpireOrder)
  async expireOrder(job: Job): Promise<void> {
    const { orderId } = job.data as JobData[typeof JobName.ExpireOrder];
    if (typeof orderId !== 'string') throw new UnrecoverableError('order.expire needs an orderId');
    return this.deadlines.expire(orderId);
  }
}
