import { Inject, Injectable, Logger } from '@nestjs/common';
import { GateTickets } from '../gate/gate-tickets.js';
import { OrdersConfig } from '../infra/config/app-config.js';
import { JOB_QUEUE, JobName } from '../infra/queues/queues.js';
import { placeOrdersJob, type Ticket } from '../gate/tickets.js';
import { QueueService } from '../infra/queues/queues.module.js';
import { OrderPipelineService } from './order-pipeline.service.js';
import { OrdersRepository } from './orders.repository.js';

const FAILED_REASON = 'the order could not be saved';
/** A transfer between buckets older than this lost its API copy (it takes milliseconds). */
const TRANSFER_STALE_MS = 5000;

/**
 * No lost admission: an API copy can die between the gate's admission and
 * handing the ticket's batch over, or Redis can refuse the add. Every ticket
 * names its batch (the job id of the `orders.place` job meant to carry it),
 * so for a ticket older than SWEEP_AFTER_MS without an order the sweeper
 * asks BullMQ about that job:
 * - waiting, delayed or active: it is coming, nothing to do;
 * - failed for good: the ticket's order is FAILED and its units go back;
 * - unknown (never added, or gone after completing): the batch's stale
 *   tickets are added again under the same job id (an add racing another
 *   sweeper creates nothing twice; persisting is idempotent on the order id).
 * Tickets admitted before batches (no batch id) had a job of their own, under
 * their order id, and are handled the same way.
 */
@Injectable()
export class TicketSweeperService {
  private readonly logger = new Logger('Sweeper');

  constructor(
    @Inject(GateTickets) private readonly gate: GateTickets,
    @Inject(OrdersRepository) private readonly orders: OrdersRepository,
    @Inject(OrderPipelineService) private readonly pipeline: OrderPipelineService,
    @Inject(QueueService) private readonly queues: QueueService,
    @Inject(OrdersConfig) private readonly config: OrdersConfig,
  ) {}

  /** Returns how many tickets were handed over again. */
  async sweep(): Promise<number> {
    const olderThan = Date.now() - this.config.SWEEP_AFTER_MS;
    let requeued = 0;
    for (const saleId of await this.gate.gatedSales()) {
      // Units between two buckets of a sale whose API copy died mid-transfer reach their bucket.
      await this.gate.completeTransfers(saleId, Date.now() - TRANSFER_STALE_MS);
      const tickets = await this.gate.staleTickets(saleId, olderThan, 1000);
      if (tickets.length === 0) continue;
      const persisted = await this.orders.existing(tickets.map((t) => t.orderId));
      await this.gate.clearTickets(tickets.filter((t) => persisted.has(t.orderId)));
      const byJob = new Map<string, Ticket[]>();
      for (const t of tickets.filter((t) => !persisted.has(t.orderId))) {
        const jobId = t.batch ?? t.orderId;
        const list = byJob.get(jobId);
        if (list) list.push(t);
        else byJob.set(jobId, [t]);
      }
      for (const [jobId, stale] of byJob) requeued += await this.requeue(jobId, stale);
    }
    if (requeued > 0) this.logger.warn(`handed over ${requeued} admitted ticket(s) again whose job never arrived`);
    return requeued;
  }

  private async requeue(jobId: string, tickets: Ticket[]): Promise<number> {
    const queue = this.queues.queue(JOB_QUEUE[JobName.PlaceOrders]);
    const state = await queue.getJobState(jobId);
    if (state === 'failed') {
      for (const ticket of tickets) await this.pipeline.failTicket(ticket, FAILED_REASON);
      return 0;
    }
    if (state !== 'unknown' && state !== 'completed') return 0; // waiting, delayed or being processed
    if (state === 'completed') await queue.remove(jobId);
    if (tickets[0]!.batch === undefined) {
      await this.queues.enqueue(JobName.PlaceOrder, tickets[0]!, { jobId });
    } else {
      const job = placeOrdersJob(jobId, tickets);
      await this.queues.enqueue(job.name, job.data, job.opts);
    }
    return tickets.length;
  }
}
