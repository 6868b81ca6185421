import { Inject, Injectable } from '@nestjs/common';
import { JobConsumer, OnJob } from '../infra/queues/on-job.js';
import { EventName, JobName, QueueName, type JobOf } from '../infra/queues/queues.js';
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
  confirmed(job: JobOf<typeof EventName.OrderConfirmed>): Promise<void> {
    return this.deadlines.schedule(
      eventsOf(job).map((e) => ({
        eventId: e.eventId,
        orderId: e.payload.orderId,
        paymentDeadline: e.payload.paymentDeadline,
      })),
    );
  }

  @OnJob(JobName.ExpireOrders)
  expireOrders(job: JobOf<typeof JobName.ExpireOrders>): Promise<void> {
    return this.deadlines.expireAll(job.data.orderIds);
  }

  @OnJob(JobName.ExpireOrder)
  expireOrder(job: JobOf<typeof JobName.ExpireOrder>): Promise<void> {
    return this.deadlines.expire(job.data.orderId);
  }
}
