import { Inject, Injectable } from '@nestjs/common';
import type { Job } from 'bullmq';
import { JobConsumer, OnJob } from '../infra/queues/on-job.js';
import { EventName, QueueName } from '../infra/queues/queues.js';
import { eventsOf } from '../events/event-batch.js';
import { InventoryService } from './inventory.service.js';

@Injectable()
@JobConsumer(QueueName.Inventory)
export class InventoryProcessor {
  constructor(@Inject(InventoryService) private readonly inventory: InventoryService) {}

  @OnJob(EventName.OrderPlaced)
  placed(job: Job): Promise<void> {
    return this.inventory.onOrdersPlaced(eventsOf(job.data, EventName.OrderPlaced));
  }

  @OnJob(EventName.OrderCancelled)
  cancelled(job: Job): Promise<void> {
    return this.inventory.onOrdersCancelled(eventsOf(job.data, EventName.OrderCancelled));
  }
}
