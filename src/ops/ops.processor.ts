import { Processor, WorkerHost } from '@nestjs/bullmq';
import { UnrecoverableError, type Job } from 'bullmq';
import { hostname } from 'node:os';
import { JobName, QueueName, type JobData } from '../infra/queues/queues.js';

@Processor(QueueName.Ops)
export class OpsProcessor extends WorkerHost {
  static readonly handles = [JobName.Ping] as const;

  process(job: Job): Promise<unknown> {
    switch (job.name) {
      case JobName.Ping: {
        const data = job.data as JobData[typeof JobName.Ping];
        return Promise.resolve({ host: hostname(), pid: process.pid, latencyMs: Date.now() - data.sentAt });
      }
      default:
        throw new UnrecoverableError(`no handler for job ${job.name} on queue ${QueueName.Ops}`);
    }
  }
}
