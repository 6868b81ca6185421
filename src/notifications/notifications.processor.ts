import { Inject, Injectable } from '@nestjs/common';
import { JobConsumer, OnJob } from '../infra/queues/on-job.js';
import { QueueName, type JobOf } from '../infra/queues/queues.js';
import { eventsOf } from '../events/event-batch.js';
import { NotificationsService } from './notifications.service.js';
import { NOTIFIED_EVENTS, type OrderEvent } from './templates/templates.js';

/** Order events → notification records and send jobs (every event with a template). */
@Injectable()
@JobConsumer(QueueName.Notifications)
export class NotificationsProcessor {
  constructor(@Inject(NotificationsService) private readonly notifications: NotificationsService) {}

  @OnJob(...NOTIFIED_EVENTS)
  orderEvent(job: JobOf<OrderEvent>): Promise<void> {
    return this.notifications.onEvents(eventsOf(job));
  }
}
