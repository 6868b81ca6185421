import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import { QueueName } from '../infra/queues/queues.js';
import { eventsOf, type EventJob } from '../events/event-batch.js';
import { NotificationsService } from './notifications.service.js';
import { NOTIFIED_EVENTS, type OrderEvent } from './templates/templates.js';

/** Order events → notification records and send jobs (every event with a template). */
@Processor(QueueName.Notifications)
export class NotificationsProcessor extends WorkerHost {
  static readonly handles: readonly string[] = NOTIFIED_EVENTS;

  constructor(@Inject(NotificationsService) private readonly notifications: NotificationsService) {
    super();
  }

  process(job: Job): Promise<void> {
    if (!(NOTIFIED_EVENTS as string[]).includes(job.name)) {
      throw new UnrecoverableError(`no handler for job ${job.name} on queue ${QueueName.Notifications}`);
    }
    const events: EventJob<OrderEvent>[] = eventsOf(job.data, job.name as OrderEvent);
    if (events.some((e) => typeof (e.payload as { orderId?: unknown }).orderId !== 'string')) {
      throw new UnrecoverableError(`malformed ${job.name} event`);
    }
    return this.notifications.onEvents(events);
  }
}
