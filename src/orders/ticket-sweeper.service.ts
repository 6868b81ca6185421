import { Inject, Injectable, Logger } from '@nestjs/common';
import { GateService } from '../gate/gate.service.js';
import { AppConfig } from '../infra/config/app-config.js';
import { JOB_QUEUE, JobName, type Ticket } from '../infra/queues/queues.js';
import { QueueService } from '../infra/queues/queues.module.js';
import { OrderPipelineService } from './order-pipeline.service.js';
import { OrdersRepository } from './orders.repository.js';

/**
 * No lost admission: an API copy can die between the gate's admission and
 * adding the job. Tickets older than SWEEP_AFTER_MS without an order are
 * enqueued again under their order id (a double enqueue is harmless).
 */
@Injectable()
export class TicketSweeperService {
  private readonly logger = new Logger('Sweeper');

  constructor(
    @Inject(GateService) private readonly gate: GateService,
    @Inject(OrdersRepository) private readonly orders: OrdersRepository,
    @Inject(OrderPipelineService) private readonly pipeline: OrderPipelineService,
    @Inject(QueueService) private readonly queues: QueueService,
    @Inject(AppConfig) private readonly config: AppConfig,
  ) {}

  /** Returns how many tickets were re-enqueued. */
  async sweep(): Promise<number> {
    const olderThan = Date.now() - this.config.SWEEP_AFTER_MS;
    let requeued = 0;
    for (const saleId of await this.gate.gatedSales()) {
      const tickets = await this.gate.staleTickets(saleId, olderThan, 1000);
      if (tickets.length === 0) continue;
      const persisted = await this.orders.existing(tickets.map((t) => t.orderId));
      await this.gate.clearTickets(tickets.filter((t) => persisted.has(t.orderId)));
      for (const ticket of tickets.filter((t) => !persisted.has(t.orderId))) {
        if (await this.requeue(ticket)) requeued++;
      }
    }
    if (requeued > 0) this.logger.warn(`re-enqueued ${requeued} admitted ticket(s) that had no job`);
    return requeued;
  }

  private async requeue(ticket: Ticket): Promise<boolean> {
    const queue = this.queues.queue(JOB_QUEUE[JobName.PlaceOrder]);
    const state = await queue.getJobState(ticket.orderId);
    if (state === 'failed') {
      await this.pipeline.failTicket(ticket, 'the order could not be saved');
      return false;
    }
    if (state !== 'unknown' && state !== 'completed') return false; // waiting, delayed or being processed
    if (state === 'completed') await queue.remove(ticket.orderId);
    await this.queues.enqueue(JobName.PlaceOrder, ticket, { jobId: ticket.orderId });
    return true;
  }
}
