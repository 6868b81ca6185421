import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import { EventName, eventsOf, JobName, QueueName, type JobData } from '../infra/queues/queues.js';
import { OrderLifecycleService } from './order-lifecycle.service.js';

/**
 * Payment deadlines: `order.confirmed` (the order entered AWAITING_PAYMENT)
 * schedules one delayed `order.expire` job per order, due at its deadline;
 * the job cancels the order if it is still unpaid. No table scans.
 */
@Processor(QueueName.Timeouts)
export class TimeoutsProcessor extends WorkerHost {
  static readonly handles = [EventName.OrderConfirmed, JobName.ExpireOrder] as const;

  constructor(@Inject(OrderLifecycleService) private readonly lifecycle: OrderLifecycleService) {
    super();
  }

  async process(job: Job): Promise<void> {
    switch (job.name) {
      case EventName.OrderConfirmed: {
        const events = eventsOf(job.data, EventName.OrderConfirmed);
        return this.lifecycle.scheduleExpiries(
          events.map((e) => ({ orderId: e.payload.orderId, paymentDeadline: e.payload.paymentDeadline })),
        );
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
