import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import { EventName, eventsOf, QueueName } from '../infra/queues/queues.js';
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
        return Promise.all(eventsOf(job.data, EventName.OrderPlaced).map((e) => this.inventory.onOrderPlaced(e))).then(
          () => undefined,
        );
      case EventName.OrderCancelled:
        return Promise.all(
          eventsOf(job.data, EventName.OrderCancelled).map((e) => this.inventory.onOrderCancelled(e)),
        ).then(() => undefined);
      default:
        throw new UnrecoverableError(`no handler for job ${job.name} on queue ${QueueName.Inventory}`);
    }
  }
}
