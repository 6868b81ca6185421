import { BullModule, getQueueToken } from '@nestjs/bullmq';
import { Global, Inject, Injectable, Logger, Module, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { Job, JobsOptions, Queue, QueueOptions } from 'bullmq';
import { AppConfig } from '../config/app-config.js';
import { ALL_QUEUES, defaultJobOptions, JOB_QUEUE, type JobData, type JobName, type QueueName } from './queues.js';

/** The one way code puts work on a queue: typed by job name, routed by JOB_QUEUE. */
@Injectable()
export class QueueService implements OnModuleInit {
  private readonly queues = new Map<QueueName, Queue>();
  private readonly logger = new Logger('Queues');
  private lastErrorLog = 0;

  constructor(@Inject(ModuleRef) private readonly moduleRef: ModuleRef) {}

  /** Connection errors are logged at most every 5 s instead of flooding stderr. */
  onModuleInit(): void {
    for (const name of ALL_QUEUES) {
      this.queue(name).on('error', (err) => {
        if (Date.now() - this.lastErrorLog < 5000) return;
        this.lastErrorLog = Date.now();
        this.logger.warn(`queue ${name}: ${err.message}`);
      });
    }
  }

  queue(name: QueueName): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = this.moduleRef.get<Queue>(getQueueToken(name), { strict: false });
      this.queues.set(name, queue);
    }
    return queue;
  }

  /** Removes a waiting or delayed job; a job already gone is fine. */
  async remove(name: JobName, jobId: string): Promise<void> {
    await this.queue(JOB_QUEUE[name]).remove(jobId);
  }

  enqueue<J extends JobName>(name: J, data: JobData[J], opts?: JobsOptions): Promise<Job<JobData[J]>> {
    return this.queue(JOB_QUEUE[name]).add(name, data, opts) as Promise<Job<JobData[J]>>;
  }
}

@Global()
@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig): QueueOptions => ({
        // BullMQ needs maxRetriesPerRequest: null on worker connections.
        connection: {
          url: config.REDIS_URL,
          maxRetriesPerRequest: null,
          retryStrategy: (times: number) => Math.min(times * 100, 2000),
        },
        prefix: config.QUEUE_PREFIX,
        defaultJobOptions: defaultJobOptions(config.JOB_ATTEMPTS, config.JOB_BACKOFF_MS),
      }),
    }),
    BullModule.registerQueue(...ALL_QUEUES.map((name) => ({ name }))),
  ],
  providers: [QueueService],
  exports: [BullModule, QueueService],
})
export class QueuesModule {}
