import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import { OrdersConfig } from '../infra/config/app-config.js';
import { ScheduleKeeper, type Schedule } from '../infra/queues/job-workers.js';
import { JobConsumer, OnJob, OnJobFailed } from '../infra/queues/on-job.js';
import { EventName, JobName, QueueName, type JobOf } from '../infra/queues/queues.js';
import { eventsOf } from '../events/event-batch.js';
import { isTicket } from '../gate/tickets.js';
import { OrderPipelineService } from './order-pipeline.service.js';
import { TicketSweeperService } from './ticket-sweeper.service.js';

@Injectable()
@JobConsumer(QueueName.Orders)
export class OrdersProcessor implements OnApplicationBootstrap {
  private readonly logger = new Logger('Orders');

  /** One sweeper schedule for all workers, put back when Redis lost it, run here when its runs stopped. */
  private readonly sweeps: Schedule;

  constructor(
    @Inject(OrderPipelineService) private readonly pipeline: OrderPipelineService,
    @Inject(TicketSweeperService) sweeper: TicketSweeperService,
    @Inject(ScheduleKeeper) private readonly schedules: ScheduleKeeper,
    @Inject(OrdersConfig) config: OrdersConfig,
  ) {
    this.sweeps = {
      queue: QueueName.Orders,
      id: 'orders-sweeper',
      everyMs: config.SWEEP_INTERVAL_MS,
      job: JobName.SweepTickets,
      checkEveryMs: Math.max(config.SWEEP_INTERVAL_MS, 5000),
      work: () => sweeper.sweep(),
    };
  }

  onApplicationBootstrap(): Promise<void> {
    return this.schedules.keep(this.sweeps);
  }

  @OnJob(JobName.PlaceOrders)
  placeOrders(job: JobOf<typeof JobName.PlaceOrders>): Promise<unknown> {
    return this.pipeline.placeAll(job.data.tickets);
  }

  @OnJob(JobName.PlaceOrder)
  placeOrder(job: JobOf<typeof JobName.PlaceOrder>): Promise<unknown> {
    return this.pipeline.place(job.data);
  }

  @OnJob(JobName.SweepTickets)
  sweep(): Promise<unknown> {
    return this.schedules.run(this.sweeps);
  }

  @OnJob(EventName.InventoryReserved)
  reserved(job: JobOf<typeof EventName.InventoryReserved>): Promise<unknown> {
    return this.pipeline.applyInventoryAnswers(eventsOf(job));
  }

  @OnJob(EventName.InventoryRejected)
  rejected(job: JobOf<typeof EventName.InventoryRejected>): Promise<unknown> {
    return this.pipeline.applyInventoryAnswers(eventsOf(job));
  }

  /** Inventory took back a cancelled order's stock: its units go back to the gate. */
  @OnJob(EventName.InventoryReturned)
  returned(job: JobOf<typeof EventName.InventoryReturned>): Promise<unknown> {
    return this.pipeline.giveBackReturned(eventsOf(job));
  }

  /**
   * Poison ticket: after the last attempt the shopper sees FAILED and the units
   * go back. (Its data is unchecked here: a job its guard refused fails too.)
   */
  @OnJobFailed(JobName.PlaceOrder)
  async onFailed(job: Job, err: Error): Promise<void> {
    const lastAttempt = err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    const ticket: unknown = job.data;
    // Nothing to give back for a payload that is not a ticket.
    if (!lastAttempt || !isTicket(ticket)) return;
    // A failure here leaves the ticket for the sweeper, which tries again.
    await this.pipeline.failTicket(ticket, 'the order could not be saved').catch((e: unknown) => {
      this.logger.warn(`order ${ticket.orderId}: FAILED not recorded yet: ${String(e)}`);
    });
  }
}
