import { Injectable } from '@nestjs/common';
import type { Job } from 'bullmq';
import { hostname } from 'node:os';
import { JobConsumer, OnJob } from '../infra/queues/on-job.js';
import { JobName, QueueName, type JobData } from '../infra/queues/queues.js';

@Injectable()
@JobConsumer(QueueName.Ops)
export class OpsProcessor {
  @OnJob(JobName.Ping)
  ping(job: Job): Promise<unknown> {
    const data = job.data as JobData[typeof JobName.Ping];
    return Promise.resolve({ host: hostname(), pid: process.pid, latencyMs: Date.now() - data.sentAt });
  }
}
