import { Inject, Injectable } from '@nestjs/common';
import { JobConsumer, OnJob } from '../infra/queues/on-job.js';
import { EventName, QueueName, type JobOf } from '../infra/queues/queues.js';
import { eventsOf } from '../events/event-batch.js';
import { InventoryService } from './inventory.service.js';

@Injectable()
@JobConsumer(QueueName.Inventory)
export class InventoryProcessor {
  constructor(@Inject(InventoryService) private readonly inventory: InventoryService) {}

  @OnJob(EventName.OrderPlaced)
  placed(job: JobOf<typeof EventName.OrderPlaced>): Promise<void> {
    return this.inventory.onOrdersPlaced(eventsOf(job));
  }

  @OnJob(EventName.OrderCancelled)
  cancelled(job: JobOf<typeof EventName.OrderCancelled>): Promise<void> {
    return this.inventory.onOrdersCancelled(eventsOf(job));
  }
}
