import { Injectable } from '@nestjs/common';
import { hostname } from 'node:os';
import { JobConsumer, OnJob } from '../infra/queues/on-job.js';
import { JobName, QueueName, type JobOf } from '../infra/queues/queues.js';

@Injectable()
@JobConsumer(QueueName.Ops)
export class OpsProcessor {
  @OnJob(JobName.Ping)
  ping(job: JobOf<typeof JobName.Ping>): Promise<unknown> {
    return Promise.resolve({ host: hostname(), pid: process.pid, latencyMs: Date.now() - job.data.sentAt });
  }
}
