import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import { JobName, QueueName, type JobData } from '../infra/queues/queues.js';
import { PromotionsService } from './promotions.service.js';

@Processor(QueueName.Promotions)
export class PromotionsProcessor extends WorkerHost {
  static readonly handles = [JobName.PreheatSale] as const;

  constructor(@Inject(PromotionsService) private readonly promotions: PromotionsService) {
    super();
  }

  async process(job: Job): Promise<void> {
    switch (job.name) {
      case JobName.PreheatSale: {
        const { saleId } = job.data as JobData[typeof JobName.PreheatSale];
        if (typeof saleId !== 'string') throw new UnrecoverableError('sale.preheat needs a saleId');
        return this.promotions.preheatIfExists(saleId);
      }
      default:
        throw new UnrecoverableError(`no handler for job ${job.name} on queue ${QueueName.Promotions}`);
    }
  }
}
