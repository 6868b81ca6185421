import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import { AppConfig } from '../infra/config/app-config.js';
import { JobName, QueueName, type JobData } from '../infra/queues/queues.js';
import { QueueService } from '../infra/queues/queues.module.js';
import { RedisService } from '../infra/redis/redis.module.js';
import { SalesService } from './sales.service.js';
import { ReconcileService } from './reconcile.service.js';

const RECONCILE_SCHEDULER = 'sales-reconcile';

@Processor(QueueName.Promotions)
export class SalesProcessor extends WorkerHost implements OnApplicationBootstrap, OnModuleDestroy {
  static readonly handles = [JobName.PreheatSale, JobName.ReconcileSales] as const;
  private readonly logger = new Logger('Promotions');
  private timer?: NodeJS.Timeout;
  private healTimer?: NodeJS.Timeout;
  private stopWatching?: () => void;

  constructor(
    @Inject(SalesService) private readonly promotions: SalesService,
    @Inject(ReconcileService) private readonly reconciler: ReconcileService,
    @Inject(QueueService) private readonly queues: QueueService,
    @Inject(RedisService) private readonly redis: RedisService,
    @Inject(AppConfig) private readonly config: AppConfig,
  ) {
    super();
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
        .reconcileOpenSales(true)
        .catch((err: unknown) => this.logger.warn(`repair after failover failed: ${String(err)}`));
    }, 1000);
    this.healTimer.unref();
  }

  /**
   * One reconcile schedule for all workers (BullMQ job scheduler, upserted by
   * id). A scheduler lives in Redis and is gone if Redis loses its data, so
   * each interval puts it back when missing.
   */
  async onApplicationBootstrap(): Promise<void> {
    this.stopWatching = this.redis.onMastersChanged(() => this.healAfterFailover());
    await this.schedule();
    this.timer = setInterval(() => {
      const queue = this.queues.queue(QueueName.Promotions);
      queue
        .getJobScheduler(RECONCILE_SCHEDULER)
        .then((found) => (found ? undefined : this.schedule()))
        .catch((err: unknown) => this.logger.warn(`reconcile schedule not checked: ${String(err)}`));
    }, this.config.RECONCILE_INTERVAL_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    this.stopWatching?.();
    clearTimeout(this.healTimer);
    clearInterval(this.timer);
  }

  private async schedule(): Promise<void> {
    await this.queues
      .queue(QueueName.Promotions)
      .upsertJobScheduler(
        RECONCILE_SCHEDULER,
        { every: this.config.RECONCILE_INTERVAL_MS },
        { name: JobName.ReconcileSales, data: {}, opts: { attempts: 1, removeOnComplete: true, removeOnFail: 100 } },
      );
  }

  async process(job: Job): Promise<unknown> {
    switch (job.name) {
      case JobName.PreheatSale: {
        const { saleId } = job.data as JobData[typeof JobName.PreheatSale];
        if (typeof saleId !== 'string') throw new UnrecoverableError('sale.preheat needs a saleId');
        return this.promotions.preheatIfExists(saleId);
      }
      case JobName.ReconcileSales: {
        const reports = await this.reconciler.reconcileOpenSales();
        return { sales: reports.length, drifted: reports.filter((r) => !r.inSync).map((r) => r.saleId) };
      }
      default:
        throw new UnrecoverableError(`no handler for job ${job.name} on queue ${QueueName.Promotions}`);
    }
  }
}
