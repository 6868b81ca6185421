import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import { AppConfig } from '../infra/config/app-config.js';
import { JobName, QueueName, type JobData } from '../infra/queues/queues.js';
import { QueueService } from '../infra/queues/queues.module.js';
import { PromotionsService } from './promotions.service.js';
import { ReconcileService } from './reconcile.service.js';

const RECONCILE_SCHEDULER = 'sales-reconcile';

@Processor(QueueName.Promotions)
export class PromotionsProcessor extends WorkerHost implements OnApplicationBootstrap, OnModuleDestroy {
  static readonly handles = [JobName.PreheatSale, JobName.ReconcileSales] as const;
  private readonly logger = new Logger('Promotions');
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(PromotionsService) private readonly promotions: PromotionsService,
    @Inject(ReconcileService) private readonly reconciler: ReconcileService,
    @Inject(QueueService) private readonly queues: QueueService,
    @Inject(AppConfig) private readonly config: AppConfig,
  ) {
    super();
  }

  /**
   * One reconcile schedule for all workers (BullMQ job scheduler, upserted by
   * id). A scheduler lives in Redis and is gone if Redis loses its data, so
   * each interval puts it back when missing.
   */
  async onApplicationBootstrap(): Promise<void> {
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
