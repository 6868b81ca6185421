import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import { EventName, JobName, QueueName, type JobData } from '../infra/queues/queues.js';
import { eventsOf } from '../events/event-batch.js';
import { OrderLifecycleService } from './order-lifecycle.service.js';

/**
 * Payment deadlines: `order.confirmed` (orders entered AWAITING_PAYMENT)
 * schedules delayed `orders.expire` jobs, one per confirmed batch and second
 * of deadline, due at the end of that second; the job cancels the orders
 * still unpaid. No table scans. (`order.expire`, one order, is what the
 * gate rebuild and an early-firing expiry schedule.)
 */
@Processor(QueueName.Timeouts)
export class TimeoutsProcessor extends WorkerHost {
  static readonly handles = [EventName.OrderConfirmed, JobName.ExpireOrders, JobName.ExpireOrder] as const;

  constructor(@Inject(OrderLifecycleService) private readonly lifecycle: OrderLifecycleService) {
    super();
  }

  async process(job: Job): Promise<void> {
    switch (job.name) {
      case EventName.OrderConfirmed: {
        const events = eventsOf(job.data, EventName.OrderConfirmed);
        return this.lifecycle.scheduleExpiries(
          events.map((e) => ({
            eventId: e.eventId,
            orderId: e.payload.orderId,
            paymentDeadline: e.payload.paymentDeadline,
          })),
        );
      }
      case JobName.ExpireOrders: {
        const { orderIds } = job.data as Partial<JobData[typeof JobName.ExpireOrders]>;
        if (!Array.isArray(orderIds) || !orderIds.every((id) => typeof id === 'string')) {
          throw new UnrecoverableError('orders.expire needs orderIds');
        }
        return this.lifecycle.expireAll(orderIds);
      }
      case JobName.ExpireOrder: {
        const { orderId } = job.data as JobData[typeof JobName.ExpireOrder];
        if (typeof orderId !== 'string') throw new UnrecoverableError('order.expire needs an orderId');
        return this.lifecycle.expire(orderId);
      }
      default:
        throw new UnrecoverableError(`no handler for job ${job.name} on queue ${QueueName.Timeouts}`);
    }
  }
}
