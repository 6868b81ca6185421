import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { SalesConfig } from '../infra/config/app-config.js';
import { ScheduleKeeper, type Schedule } from '../infra/queues/job-workers.js';
import { JobConsumer, OnJob } from '../infra/queues/on-job.js';
import { EventName, JobName, QueueName, type JobOf } from '../infra/queues/queues.js';
import { eventsOf } from '../events/event-batch.js';
import { RoomTurns } from '../room/room-turns.js';
import { RedisService } from '../infra/redis/redis.module.js';
import { SalesService } from './sales.service.js';
import { ReconcileService } from './reconcile.service.js';

@Injectable()
@JobConsumer(QueueName.Promotions)
export class SalesProcessor implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Promotions');
  private healTimer?: NodeJS.Timeout;
  private stopWatching?: () => void;
  /** One reconcile schedule for all workers, put back when Redis lost it, run here when its runs stopped. */
  private readonly reconciles: Schedule;

  constructor(
    @Inject(SalesService) private readonly promotions: SalesService,
    @Inject(ReconcileService) private readonly reconciler: ReconcileService,
    @Inject(ScheduleKeeper) private readonly schedules: ScheduleKeeper,
    @Inject(RedisService) private readonly redis: RedisService,
    @Inject(SalesConfig) private readonly config: SalesConfig,
    @Inject(RoomTurns) private readonly turns: RoomTurns,
  ) {
    this.reconciles = {
      queue: QueueName.Promotions,
      id: 'sales-reconcile',
      everyMs: this.config.RECONCILE_INTERVAL_MS,
      job: JobName.ReconcileSales,
      work: async () => {
        const reports = await this.reconciler.reconcileOpenSales();
        return { sales: reports.length, drifted: reports.filter((r) => !r.inSync).map((r) => r.saleId) };
      },
    };
  }

  /**
   * A Redis Cluster failover loses the writes its master had not passed to
   * the promoted replica (replication is asynchronous): admissions whose
   * tickets vanished, units counted twice, buyers' counts gone. Right after
   * the cluster's masters change, every open sale's gate is compared with the
   * orders of record and repaired (whatever RECONCILE_REPAIR says), so the
   * gate stops admitting on units that Postgres has already sold.
   */
  private healAfterFailover(): void {
    clearTimeout(this.healTimer);
    this.healTimer = setTimeout(() => {
      this.logger.warn('Redis Cluster masters changed: repairing every open sale from the orders of record');
      this.reconciler
        .reconcileOpenSales({ repair: true })
        .catch((err: unknown) => this.logger.warn(`repair after failover failed: ${String(err)}`));
    }, 1000);
    this.healTimer.unref();
  }

  async onApplicationBootstrap(): Promise<void> {
    this.stopWatching = this.redis.onMastersChanged(() => this.healAfterFailover());
    await this.schedules.keep(this.reconciles);
  }

  onModuleDestroy(): void {
    this.stopWatching?.();
    clearTimeout(this.healTimer);
  }

  @OnJob(JobName.PreheatSale)
  preheat(job: JobOf<typeof JobName.PreheatSale>): Promise<unknown> {
    return this.promotions.preheatIfExists(job.data.saleId);
  }

  @OnJob(JobName.ReconcileSales)
  reconcile(): Promise<unknown> {
    return this.schedules.run(this.reconciles);
  }

  /** A paid or cancelled order ends its shopper's turn in the sale's waiting room: the slot goes to the next. */
  @OnJob(EventName.OrderPaid)
  paid(job: JobOf<typeof EventName.OrderPaid>): Promise<void> {
    return this.turns.endAll(eventsOf(job).map((e) => e.payload));
  }

  @OnJob(EventName.OrderCancelled)
  cancelled(job: JobOf<typeof EventName.OrderCancelled>): Promise<void> {
    return this.turns.endAll(eventsOf(job).map((e) => e.payload));
  }
}
