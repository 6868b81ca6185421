import { BullModule, getQueueToken } from '@nestjs/bullmq';
import { Global, Inject, Injectable, Module, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { Job, JobsOptions, Queue, QueueOptions } from 'bullmq';
import { QueueConfig, RedisConfig } from '../config/app-config.js';
import { repeatedErrors } from '../logging/repeated-errors.js';
import { createRedisClient, nodeConnection } from '../redis/redis.module.js';
import { tagInPart } from '../redis/slots.js';
import { ALL_QUEUES, defaultJobOptions, JOB_QUEUE, QueueName, type JobData, type JobName } from './queues.js';

/**
 * With QUEUE_LAYOUT per-queue, the part of a 3-master cluster's slot space
 * each queue's tag is chosen in: the buy path's busy queues (orders,
 * inventory, notifications) on three different masters.
 */
const QUEUE_PART: { readonly [Q in QueueName]: number } = {
  [QueueName.Orders]: 0,
  [QueueName.Inventory]: 1,
  [QueueName.Notifications]: 2,
  [QueueName.Timeouts]: 1,
  [QueueName.Promotions]: 0,
  [QueueName.Email]: 2,
  [QueueName.Sms]: 0,
  [QueueName.Ops]: 1,
};

/** Whether each queue has a hash tag of its own (QUEUE_LAYOUT; `auto`: on a cluster). */
export function perQueueTags(config: Pick<QueueConfig & RedisConfig, 'QUEUE_LAYOUT' | 'REDIS_CLUSTER_NODES'>): boolean {
  return config.QUEUE_LAYOUT === 'per-queue' || (config.QUEUE_LAYOUT === 'auto' && config.REDIS_CLUSTER_NODES !== '');
}

/**
 * The BullMQ prefix of a queue. Shared layout: QUEUE_PREFIX for all (one hash
 * tag: every queue in one slot). Per-queue: `{<inner>-<queue>}` (plus `-<n>`
 * when needed to land in the queue's part of the slot space), e.g.
 * `{fsq-orders}:orders:wait`, so a queue's keys share a slot (BullMQ's
 * scripts need that) while the queues spread over the masters.
 */
export function queuePrefix(
  config: Pick<QueueConfig & RedisConfig, 'QUEUE_PREFIX' | 'QUEUE_LAYOUT' | 'REDIS_CLUSTER_NODES'>,
  queue: QueueName,
): string {
  if (!perQueueTags(config)) return config.QUEUE_PREFIX;
  return `{${tagInPart(`${config.QUEUE_PREFIX.slice(1, -1)}-${queue}`, QUEUE_PART[queue], 3)}}`;
}

/**
 * BullMQ's connection: a single node's options (BullMQ opens its own
 * connections per queue and worker), or one Cluster client that queues share
 * (workers duplicate it for their blocking reads). The process exits after
 * closing its app, which ends that client.
 */
export function bullConnection(config: RedisConfig): QueueOptions['connection'] {
  // BullMQ needs maxRetriesPerRequest: null on worker connections.
  if (!config.REDIS_CLUSTER_NODES) return { ...nodeConnection(config), maxRetriesPerRequest: null };
  const cluster = createRedisClient(config, { maxRetriesPerRequest: null });
  cluster.on('error', (err: Error) => repeatedErrors.report('redis (queues)', err));
  return cluster;
}

/** The one way code puts work on a queue: typed by job name, routed by JOB_QUEUE. */
@Injectable()
export class QueueService implements OnModuleInit {
  private readonly queues = new Map<QueueName, Queue>();

  constructor(@Inject(ModuleRef) private readonly moduleRef: ModuleRef) {}

  /** Connection errors go to the log with repeated ones collapsed (see RepeatedErrors). */
  onModuleInit(): void {
    for (const name of ALL_QUEUES) this.queue(name).on('error', (err) => repeatedErrors.report(`queue ${name}`, err));
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
      inject: [QueueConfig, RedisConfig],
      useFactory: (queues: QueueConfig, redis: RedisConfig): QueueOptions => ({
        connection: bullConnection(redis),
        prefix: queues.QUEUE_PREFIX,
        defaultJobOptions: defaultJobOptions(queues.JOB_ATTEMPTS, queues.JOB_BACKOFF_MS),
      }),
    }),
    BullModule.registerQueueAsync(
      ...ALL_QUEUES.map((name) => ({
        name,
        inject: [QueueConfig, RedisConfig],
        useFactory: (queues: QueueConfig, redis: RedisConfig) => ({
          prefix: queuePrefix({ ...queues, ...redis }, name),
        }),
      })),
    ),
  ],
  providers: [QueueService],
  exports: [BullModule, QueueService],
})
export class QueuesModule {}
