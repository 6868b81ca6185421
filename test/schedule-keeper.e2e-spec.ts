import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Queue } from 'bullmq';
import { loadConfig, type AppConfig } from '../src/infra/config/app-config.js';
import { overdueAfterMs, ScheduleKeeper, type Schedule } from '../src/infra/queues/job-workers.js';
import type { QueueService } from '../src/infra/queues/queues.module.js';
import { JobName, QueueName } from '../src/infra/queues/queues.js';
import { RedisService } from '../src/infra/redis/redis.module.js';
import { clearRedis, testEnv } from './support/env.js';
import { waitFor } from './support/wait-for.js';

/**
 * ScheduleKeeper on a real Redis and BullMQ, with no worker taking the
 * scheduled jobs (as when the next run is stuck `delayed`; the hand-off e2e
 * parks it on a running worker): the processes that keep the schedule run its
 * work themselves once it is overdue, one process per overdue window, never
 * two runs at once.
 */
describe('ScheduleKeeper: a schedule whose jobs are never taken', () => {
  let config: AppConfig;
  let queue: Queue;
  const redis: RedisService[] = [];
  const keepers: ScheduleKeeper[] = [];

  beforeAll(() => {
    config = loadConfig(testEnv('postgresql://unused@127.0.0.1:5432/unused'));
    queue = new Queue(QueueName.Orders, { connection: { url: config.REDIS_URL }, prefix: config.QUEUE_PREFIX });
    // Two worker processes' keepers, each with its own connection (QueueService only hands out the queue).
    const queues = { queue: () => queue } as unknown as QueueService;
    for (let i = 0; i < 2; i++) {
      redis.push(new RedisService(config));
      keepers.push(new ScheduleKeeper(queues, redis[i]!, config));
    }
  });

  afterAll(async () => {
    for (const keeper of keepers) keeper.onModuleDestroy();
    await clearRedis(config);
    await queue.close();
    for (const r of redis) await r.onApplicationShutdown();
  });

  it('its work runs in one process per overdue window, never twice at once', async () => {
    const starts: number[] = [];
    let inFlight = 0;
    let overlapped = false;
    const schedule: Schedule = {
      queue: QueueName.Orders,
      id: 'keeper-test',
      everyMs: 200,
      job: JobName.SweepTickets,
      checkEveryMs: 100,
      work: async () => {
        starts.push(Date.now());
        overlapped ||= inFlight > 0;
        inFlight++;
        await new Promise((r) => setTimeout(r, 50));
        inFlight--;
      },
    };
    await Promise.all(keepers.map((k) => k.keep(schedule)));
    await waitFor(
      'three runs by the keepers',
      () => Promise.resolve(starts.length),
      (n) => n >= 3,
      15_000,
    );
    expect(overlapped).toBe(false);
    // One claim per window: runs start at least an overdue window apart (less a check period of slack).
    const gaps = starts.slice(1).map((t, i) => t - starts[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(overdueAfterMs(schedule) - schedule.checkEveryMs!);
  }, 30_000);
});
