import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import { AppConfig } from '../infra/config/app-config.js';
import { EventName, JobName, QueueName, type JobData } from '../infra/queues/queues.js';
import { eventsOf } from '../events/event-batch.js';
import type { Ticket } from '../gate/tickets.js';
import { QueueService } from '../infra/queues/queues.module.js';
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

const SWEEPER = 'orders-sweeper';

@Processor(QueueName.Orders)
export class OrdersProcessor extends WorkerHost implements OnApplicationBootstrap, OnModuleDestroy {
  static readonly handles = [
    JobName.PlaceOrders,
    JobName.PlaceOrder,
    JobName.SweepTickets,
    EventName.InventoryReserved,
    EventName.InventoryRejected,
    EventName.InventoryReturned,
  ] as const;
  private readonly logger = new Logger('Orders');
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(OrderPipelineService) private readonly pipeline: OrderPipelineService,
    @Inject(TicketSweeperService) private readonly sweeper: TicketSweeperService,
    @Inject(QueueService) private readonly queues: QueueService,
    @Inject(AppConfig) private readonly config: AppConfig,
  ) {
    super();
  }

  /**
   * One sweeper schedule for all workers (BullMQ job scheduler, upserted by
   * id). It lives in Redis, so it is put back when Redis lost it.
   */
  async onApplicationBootstrap(): Promise<void> {
    await this.schedule();
    this.timer = setInterval(
      () => {
        this.queues
          .queue(QueueName.Orders)
          .getJobScheduler(SWEEPER)
          .then((found) => (found ? undefined : this.schedule()))
          .catch((err: unknown) => this.logger.warn(`sweeper schedule not checked: ${String(err)}`));
      },
      Math.max(this.config.SWEEP_INTERVAL_MS, 5000),
    );
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  private async schedule(): Promise<void> {
    await this.queues
      .queue(QueueName.Orders)
      .upsertJobScheduler(
        SWEEPER,
        { every: this.config.SWEEP_INTERVAL_MS },
        { name: JobName.SweepTickets, data: {}, opts: { attempts: 1, removeOnComplete: true, removeOnFail: 100 } },
      );
  }

  async process(job: Job): Promise<unknown> {
    switch (job.name) {
      case JobName.PlaceOrders:
        return this.pipeline.placeAll(ticketsOf(job.data));
      case JobName.PlaceOrder:
        assertTicket(job.data);
        return this.pipeline.place(job.data);
      case JobName.SweepTickets:
        return this.sweeper.sweep();
      case EventName.InventoryReserved:
        return this.pipeline.applyInventoryAnswers(eventsOf(job.data, EventName.InventoryReserved));
      case EventName.InventoryRejected:
        return this.pipeline.applyInventoryAnswers(eventsOf(job.data, EventName.InventoryRejected));
      case EventName.InventoryReturned:
        return this.pipeline.giveBackReturned(eventsOf(job.data, EventName.InventoryReturned));
      default:
        throw new UnrecoverableError(`no handler for job ${job.name} on queue ${QueueName.Orders}`);
    }
  }

  /** Poison ticket: after the last attempt the shopper sees FAILED and the units go back. */
  @OnWorkerEvent('failed')
  async onFailed(job: Job | undefined, err: Error): Promise<void> {
    if (!job || job.name !== JobName.PlaceOrder) return;
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
