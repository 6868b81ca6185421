import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import { OrdersConfig } from '../infra/config/app-config.js';
import { ScheduleKeeper } from '../infra/queues/job-workers.js';
import { JobConsumer, OnJob, OnJobFailed } from '../infra/queues/on-job.js';
import { EventName, JobName, QueueName, type JobData } from '../infra/queues/queues.js';
import { eventsOf } from '../events/event-batch.js';
import { type Ticket } from '../gate/tickets.js';
import { OrderPipelineService } from './order-pipeline.service.js';
import { TicketSweeperService } from './ticket-sweeper.service.js';

function isTicket(data: unknown): data is Ticket {
  const t = data as Partial<Ticket>;
  return (
    typeof t?.orderId === 'string' &&
    typeof t.saleId === 'string' &&
    typeof t.userId === 'string' &&
    Number.isInteger(t.quantity) &&
    typeof t.admittedAt === 'number'
  );
}

function assertTicket(data: unknown): asserts data is Ticket {
  if (!isTicket(data)) throw new UnrecoverableError('malformed ticket');
}

/** The tickets of an `orders.place` job; a malformed job goes to the failed set at once. */
function ticketsOf(data: unknown): Ticket[] {
  const tickets = (data as Partial<JobData[typeof JobName.PlaceOrders]> | null)?.tickets;
  if (!Array.isArray(tickets) || tickets.length === 0 || !tickets.every(isTicket)) {
    throw new UnrecoverableError('malformed batch of tickets');
  }
  return tickets;
}

@Injectable()
@JobConsumer(QueueName.Orders)
export class OrdersProcessor implements OnApplicationBootstrap {
  private readonly logger = new Logger('Orders');

  constructor(
    @Inject(OrderPipelineService) private readonly pipeline: OrderPipelineService,
    @Inject(TicketSweeperService) private readonly sweeper: TicketSweeperService,
    @Inject(ScheduleKeeper) private readonly schedules: ScheduleKeeper,
    @Inject(OrdersConfig) private readonly config: OrdersConfig,
  ) {}

  /** One sweeper schedule for all workers, put back when Redis lost it. */
  onApplicationBootstrap(): Promise<void> {
    return this.schedules.keep({
      queue: QueueName.Orders,
      id: 'orders-sweeper',
      everyMs: this.config.SWEEP_INTERVAL_MS,
      job: JobName.SweepTickets,
      checkEveryMs: Math.max(this.config.SWEEP_INTERVAL_MS, 5000),
    });
  }

  @OnJob(JobName.PlaceOrders)
  placeOrders(job: Job): Promise<unknown> {
    return this.pipeline.placeAll(ticketsOf(job.data));
  }

  @OnJob(JobName.PlaceOrder)
  placeOrder(job: Job): Promise<unknown> {
    assertTicket(job.data);
    return this.pipeline.place(job.data);
  }

  @OnJob(JobName.SweepTickets)
  sweep(): Promise<unknown> {
    return this.sweeper.sweep();
  }

  @OnJob(EventName.InventoryReserved)
  reserved(job: Job): Promise<unknown> {
    return this.pipeline.applyInventoryAnswers(eventsOf(job.data, EventName.InventoryReserved));
  }

  @OnJob(EventName.InventoryRejected)
  rejected(job: Job): Promise<unknown> {
    return this.pipeline.applyInventoryAnswers(eventsOf(job.data, EventName.InventoryRejected));
  }

  /** Inventory took back a cancelled order's stock: its units go back to the gate. */
  @OnJob(EventName.InventoryReturned)
  returned(job: Job): Promise<unknown> {
    return this.pipeline.giveBackReturned(eventsOf(job.data, EventName.InventoryReturned));
  }

  /** Poison ticket: after the last attempt the shopper sees FAILED and the units go back. */
  @OnJobFailed(JobName.PlaceOrder)
  async onFailed(job: Job, err: Error): Promise<void> {
    const lastAttempt = err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    if (!lastAttempt) return;
    try {
      assertTicket(job.data);
    } catch {
      return; // nothing to give back for a payload that is not a ticket
    }
    // A failure here leaves the ticket for the sweeper, which tries again.
    await this.pipeline.failTicket(job.data, 'the order could not be saved').catch((err: unknown) => {
      this.logger.warn(`order ${(job.data as Ticket).orderId}: FAILED not recorded yet: ${String(err)}`);
    });
  }
}
