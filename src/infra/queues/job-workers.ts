import {
  Inject,
  Injectable,
  Logger,
  Module,
  type BeforeApplicationShutdown,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { Worker, type Job, type WorkerOptions } from 'bullmq';
import { NotifyConfig, QueueConfig } from '../config/app-config.js';
import { repeatedErrors } from '../logging/repeated-errors.js';
import {
  assertEveryJobHandled,
  dispatcher,
  JobHandlers,
  PAYLOAD_GUARDS,
  type JobHandler,
  type QueueHandlers,
} from './on-job.js';
import { cappedBackoff, JobName, parseWorkerQueues, QueueName, type PayloadGuards } from './queues.js';
import { QueueService } from './queues.module.js';

/** What the workers' options are made of. */
type WorkerSettings = QueueConfig & Pick<NotifyConfig, 'NOTIFY_CONCURRENCY'>;

/**
 * Jobs one worker process runs at once, per queue: many where jobs are batched
 * into transactions (and expiries firing together are cancelled in one),
 * NOTIFY_CONCURRENCY send jobs (batches or single messages; the messages in
 * flight are bounded by the channel's lanes in SendProcessor), one for the rest.
 */
const CONCURRENCY: { readonly [Q in QueueName]: (config: WorkerSettings) => number } = {
  [QueueName.Ops]: () => 1,
  [QueueName.Promotions]: () => 1,
  [QueueName.Orders]: (c) => c.WORKER_CONCURRENCY,
  [QueueName.Inventory]: (c) => c.WORKER_CONCURRENCY,
  [QueueName.Notifications]: (c) => c.WORKER_CONCURRENCY,
  [QueueName.Email]: (c) => c.NOTIFY_CONCURRENCY,
  [QueueName.Sms]: (c) => c.NOTIFY_CONCURRENCY,
  [QueueName.Timeouts]: (c) => c.WORKER_CONCURRENCY,
};

/** The options of a queue's BullMQ worker, all from config. */
export function workerOptions(queue: QueueName, config: WorkerSettings): Omit<WorkerOptions, 'connection'> {
  return {
    concurrency: CONCURRENCY[queue](config),
    lockDuration: config.JOB_LOCK_MS,
    stalledInterval: config.JOB_STALLED_INTERVAL_MS,
    settings: { backoffStrategy: cappedBackoff(config.JOB_BACKOFF_MAX_MS) },
  };
}

/**
 * The BullMQ workers of this process, one per queue of WORKER_QUEUES, built in
 * this one place: handlers found at init (`@JobConsumer` + `@OnJob`), the boot
 * refused when a job routed to one of these queues has no handler, jobs
 * dispatched by name once their data passed its payload guard. Closed before
 * the connections, so active jobs finish.
 */
@Injectable()
export class JobWorkers implements OnModuleInit, BeforeApplicationShutdown {
  private readonly workers = new Map<QueueName, Worker>();
  /** Per queue, the jobs running now (id → name), for a shutdown that takes too long to say which. */
  private readonly active = new Map<QueueName, Map<string, string>>();
  private readonly closing = new Set<QueueName>();
  private readonly logger = new Logger('Workers');

  constructor(
    @Inject(JobHandlers) private readonly handlers: JobHandlers,
    @Inject(QueueService) private readonly queues: QueueService,
    @Inject(QueueConfig) private readonly queueConfig: QueueConfig,
    @Inject(NotifyConfig) private readonly notifyConfig: NotifyConfig,
    @Inject(PAYLOAD_GUARDS) private readonly guards: PayloadGuards,
  ) {}

  onModuleInit(): void {
    const table = this.handlers.collect();
    const queues = parseWorkerQueues(this.queueConfig.WORKER_QUEUES);
    assertEveryJobHandled(queues, table);
    // Every dispatcher first: one refused (a job without a payload guard) stops the boot before any worker runs.
    const runs = queues.map((queue) => [queue, dispatcher(queue, table.get(queue)!, this.guards)] as const);
    for (const [queue, run] of runs) this.workers.set(queue, this.start(queue, table.get(queue)!, run));
  }

  /** Whether this queue's worker is closing (a shutdown has begun): long jobs can hand back what they have not started. */
  isClosing(queue: QueueName): boolean {
    return this.closing.has(queue);
  }

  /** The running workers, by queue. */
  all(): ReadonlyMap<QueueName, Worker> {
    return this.workers;
  }

  /**
   * What a shutdown still waits for: each queue whose worker has not closed,
   * with the jobs it still runs (e.g. `orders (orders.place 01J…)`).
   */
  stillClosing(): string[] {
    return [...this.closing].map((queue) => {
      const jobs = [...(this.active.get(queue) ?? new Map<string, string>())].map(([id, name]) => `${name} ${id}`);
      return `${queue} (${jobs.length ? jobs.join(', ') : 'no active job'})`;
    });
  }

  private start(queue: QueueName, handlers: QueueHandlers, run: JobHandler): Worker {
    // The queue's own connection and prefix (QueuesModule), as @nestjs/bullmq did.
    const { connection, prefix } = this.queues.queue(queue).opts;
    const active = new Map<string, string>();
    this.active.set(queue, active);
    const worker = new Worker(
      queue,
      async (job: Job) => {
        const id = job.id ?? '';
        active.set(id, job.name);
        try {
          return await run(job);
        } finally {
          active.delete(id);
        }
      },
      {
        connection,
        prefix,
        ...workerOptions(queue, { ...this.queueConfig, NOTIFY_CONCURRENCY: this.notifyConfig.NOTIFY_CONCURRENCY }),
      },
    );
    // Without a listener BullMQ prints each error (a lost connection, a lock it could not renew)
    // to stderr as a raw stack trace: through the logger instead, repeated ones collapsed.
    worker.on('error', (err: Error) => repeatedErrors.report(`worker ${queue}`, err));
    if (handlers.failed.size > 0) {
      worker.on('failed', (job: Job | undefined, err: Error) => {
        for (const handler of (job && handlers.failed.get(job.name)) || []) {
          handler(job!, err).catch((e: unknown) =>
            this.logger.warn(`${queue}: failure handler of ${job!.name}: ${String(e)}`),
          );
        }
      });
    }
    return worker;
  }

  /**
   * Each worker finishes its active jobs, then closes. One with no active job
   * has nothing to finish and closes forced: a graceful close waits for its
   * fetch loop, which after a Redis outage may sit in a retry delay (BullMQ's
   * runRetryDelay, 15 s) and held a shutdown past 30 s on a loaded machine.
   * A job fetched in that instant is left to the stalled check (at least
   * once: its consumers are idempotent).
   */
  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all(
      [...this.workers].map(async ([queue, worker]) => {
        this.closing.add(queue);
        await worker.close((this.active.get(queue)?.size ?? 0) === 0);
        this.closing.delete(queue);
      }),
    );
  }
}

/** What a repeatable job is: its scheduler id, its queue, its period and the job it adds. */
export interface Schedule {
  queue: QueueName;
  id: string;
  everyMs: number;
  job: typeof JobName.SweepTickets | typeof JobName.ReconcileSales;
  /** How often the schedule is looked for in Redis (and put back when missing); default everyMs. */
  checkEveryMs?: number;
}

/**
 * Keeps repeatable jobs scheduled: one BullMQ job scheduler per schedule for
 * all workers (upserted by id). A scheduler lives in Redis and is gone if
 * Redis loses its data, so it is looked for periodically and put back.
 */
@Injectable()
export class ScheduleKeeper implements OnModuleDestroy {
  private readonly logger = new Logger('Schedules');
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(@Inject(QueueService) private readonly queues: QueueService) {}

  async keep(schedule: Schedule): Promise<void> {
    await this.upsert(schedule);
    const timer = setInterval(() => {
      this.queues
        .queue(schedule.queue)
        .getJobScheduler(schedule.id)
        .then((found) => (found ? undefined : this.upsert(schedule)))
        .catch((err: unknown) => this.logger.warn(`schedule ${schedule.id} not checked: ${String(err)}`));
    }, schedule.checkEveryMs ?? schedule.everyMs);
    timer.unref();
    this.timers.push(timer);
  }

  private async upsert({ queue, id, everyMs, job }: Schedule): Promise<void> {
    await this.queues
      .queue(queue)
      .upsertJobScheduler(
        id,
        { every: everyMs },
        { name: job, data: {}, opts: { attempts: 1, removeOnComplete: true, removeOnFail: 100 } },
      );
  }

  onModuleDestroy(): void {
    for (const timer of this.timers) clearInterval(timer);
  }
}

/** The worker side of the queues: handler discovery, the workers, the schedule keeper. */
@Module({
  imports: [DiscoveryModule],
  providers: [JobHandlers, JobWorkers, ScheduleKeeper],
  exports: [JobWorkers, ScheduleKeeper],
})
export class JobWorkersModule {}
