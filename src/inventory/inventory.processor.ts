import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import { EventName, QueueName } from '../infra/queues/queues.js';
import { eventsOf } from '../events/event-batch.js';
import { InventoryService } from './inventory.service.js';

@Processor(QueueName.Inventory)
export class InventoryProcessor extends WorkerHost {
  static readonly handles = [EventName.OrderPlaced, EventName.OrderCancelled] as const;

  constructor(@Inject(InventoryService) private readonly inventory: InventoryService) {
    super();
  }

  process(job: Job): Promise<void> {
    switch (job.name) {
      case EventName.OrderPlaced:
        return this.inventory.onOrdersPlaced(eventsOf(job.data, EventName.OrderPlaced));
      case EventName.OrderCancelled:
        return this.inventory.onOrdersCancelled(eventsOf(job.data, EventName.OrderCancelled));
      default:
        throw new UnrecoverableError(`no handler for job ${job.name} on queue ${QueueName.Inventory}`);
    }
  }
}
