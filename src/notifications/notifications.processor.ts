import { Inject, Injectable } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import { JobConsumer, OnJob } from '../infra/queues/on-job.js';
import { QueueName } from '../infra/queues/queues.js';
import { eventsOf, type EventJob } from '../events/event-batch.js';
import { NotificationsService } from './notifications.service.js';
import { NOTIFIED_EVENTS, type OrderEvent } from './templates/templates.js';

/** Order events → notification records and send jobs (every event with a template). */
@Injectable()
@JobConsumer(QueueName.Notifications)
export class NotificationsProcessor {
  constructor(@Inject(NotificationsService) private readonly notifications: NotificationsService) {}

  @OnJob(...NOTIFIED_EVENTS)
  orderEvent(job: Job): Promise<void> {
    const events: EventJob<OrderEvent>[] = eventsOf(job.data, job.name as OrderEvent);
    if (events.some((e) => typeof (e.payload as { orderId?: unknown }).orderId !== 'string')) {
      throw new UnrecoverableError(`malformed ${job.name} event`);
    }
    return this.notifications.onEvents(events);
  }
}
