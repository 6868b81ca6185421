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
import { NotifyConfig, QueueConfig, RedisConfig } from '../config/app-config.js';
import { RedisService } from '../redis/redis.module.js';
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
import { InFlightBudget, itemsOf } from './in-flight-budget.js';

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
    const options = workerOptions(queue, {
      ...this.queueConfig,
      NOTIFY_CONCURRENCY: this.notifyConfig.NOTIFY_CONCURRENCY,
    });
    // The items (tickets, events) of the running jobs are bounded too: a backlog stays in Redis.
    const budget = new InFlightBudget(
      this.queueConfig.WORKER_MAX_ITEMS,
      options.concurrency!,
      (jobs) => (worker.concurrency = jobs),
    );
    const worker: Worker = new Worker(
      queue,
      async (job: Job) => {
        const id = job.id ?? '';
        const items = itemsOf(job.data);
        active.set(id, job.name);
        budget.take(items);
        try {
          return await run(job);
        } finally {
          budget.give(items);
          active.delete(id);
        }
      },
      { connection, prefix, ...options, concurrency: budget.concurrency },
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

/** What a repeatable job is: its scheduler id, its queue, its period, the job it adds and the work that job does. */
export interface Schedule {
  queue: QueueName;
  id: string;
  everyMs: number;
  job: typeof JobName.SweepTickets | typeof JobName.ReconcileSales;
  /** How often the schedule is looked for in Redis (and put back when missing), and its last run checked; default everyMs. */
  checkEveryMs?: number;
  /** What a run does (idempotent: two runs at once, or one more than planned, do no harm). */
  work: () => Promise<unknown>;
}

/** A schedule whose last run started longer ago than this many periods is overdue. */
export const OVERDUE_PERIODS = 3;

/** How long a schedule may go without a run before a worker process runs it itself. */
export function overdueAfterMs(schedule: Pick<Schedule, 'everyMs'>): number {
  return OVERDUE_PERIODS * schedule.everyMs;
}

/**
 * Keeps repeatable jobs scheduled: one BullMQ job scheduler per schedule for
 * all workers (upserted by id). A scheduler lives in Redis and is gone if
 * Redis loses its data, so it is looked for periodically and put back.
 *
 * A scheduler can also stay while its runs stop: its next run is a delayed
 * job, and the one after is added only when a worker takes it (a command of
 * its own). A failover of the queue's master can keep the taking and lose the
 * job added after it, or leave the next job `delayed` and never taken (the
 * cluster e2e once had 100 tickets QUEUED for a minute, the sweeper's next job
 * `delayed`). So every run, the job's or not, records when it started in a
 * key of its own that expires after OVERDUE_PERIODS periods; a worker process
 * that finds that key gone (SET NX) runs the work itself, at most one process
 * per overdue window, and upserts the scheduler again (which replaces a stuck
 * next job, or adds the missing one).
 */
@Injectable()
export class ScheduleKeeper implements OnModuleDestroy {
  private readonly logger = new Logger('Schedules');
  private readonly timers: NodeJS.Timeout[] = [];
  /** Checks and runs in flight here, by schedule id (a slow one is not started twice). */
  private readonly busy = new Set<string>();
  private readonly prefix: string;

  constructor(
    @Inject(QueueService) private readonly queues: QueueService,
    @Inject(RedisService) private readonly redis: RedisService,
    @Inject(RedisConfig) config: RedisConfig,
  ) {
    this.prefix = `${config.REDIS_KEY_PREFIX}:schedule-ran:`;
  }

  async keep(schedule: Schedule): Promise<void> {
    await this.upsert(schedule);
    const timer = setInterval(() => {
      this.once(`find ${schedule.id}`, () => this.putBackIfMissing(schedule));
      this.once(`run ${schedule.id}`, () => this.runIfOverdue(schedule));
    }, schedule.checkEveryMs ?? schedule.everyMs);
    timer.unref();
    this.timers.push(timer);
  }

  /** A run of the schedule's job (its handler calls this): recorded, then done. */
  async run(schedule: Schedule): Promise<unknown> {
    await this.recordRun(schedule, false).catch((err: unknown) =>
      this.logger.warn(`schedule ${schedule.id}: run not recorded: ${String(err)}`),
    );
    return schedule.work();
  }

  /** Starts `task` unless the one started under this name is still going; failures go to the log. */
  private once(name: string, task: () => Promise<void>): void {
    if (this.busy.has(name)) return;
    this.busy.add(name);
    task()
      .catch((err: unknown) => this.logger.warn(`schedule: ${name} failed: ${String(err)}`))
      .finally(() => this.busy.delete(name));
  }

  private async putBackIfMissing(schedule: Schedule): Promise<void> {
    const found = await this.queues.queue(schedule.queue).getJobScheduler(schedule.id);
    if (!found) await this.upsert(schedule);
  }

  /**
   * No run recorded for OVERDUE_PERIODS periods: this process claims the run
   * (the record, set only if absent), runs the work and reschedules. The
   * upsert is not awaited first: a queue that does not answer (a failover of
   * its master) must not hold the run back.
   */
  private async runIfOverdue(schedule: Schedule): Promise<void> {
    if (!(await this.recordRun(schedule, true))) return;
    this.logger.warn(
      `schedule ${schedule.id}: no run for ${overdueAfterMs(schedule)} ms (its next job lost or never taken): running it here and rescheduling it`,
    );
    const rescheduled = this.upsert(schedule).catch((err: unknown) =>
      this.logger.warn(`schedule ${schedule.id} not rescheduled: ${String(err)}`),
    );
    await schedule.work();
    await rescheduled;
  }

  /** Records a run starting now; with `onlyIfOverdue`, only when none is recorded (true when recorded). */
  private async recordRun(schedule: Schedule, onlyIfOverdue: boolean): Promise<boolean> {
    const key = this.prefix + schedule.id;
    const ttl = overdueAfterMs(schedule);
    const set = onlyIfOverdue
      ? await this.redis.client.set(key, String(Date.now()), 'PX', ttl, 'NX')
      : await this.redis.client.set(key, String(Date.now()), 'PX', ttl);
    return set === 'OK';
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
