import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import { EventName, QueueName, type EventJob } from '../infra/queues/queues.js';
import { InventoryService } from './inventory.service.js';

@Processor(QueueName.Inventory)
export class InventoryProcessor extends WorkerHost {
  static readonly handles = [EventName.OrderPlaced] as const;

  constructor(@Inject(InventoryService) private readonly inventory: InventoryService) {
    super();
  }

  process(job: Job): Promise<void> {
    switch (job.name) {
      case EventName.OrderPlaced: {
        const event = job.data as EventJob<typeof EventName.OrderPlaced>;
        if (typeof event?.eventId !== 'string' || typeof event.payload?.orderId !== 'string') {
          throw new UnrecoverableError('malformed order.placed event');
        }
        return this.inventory.onOrderPlaced(event);
      }
      default:
        throw new UnrecoverableError(`no handler for job ${job.name} on queue ${QueueName.Inventory}`);
    }
  }
}
