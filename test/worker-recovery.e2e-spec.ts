import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Queue } from 'bullmq';
import pg from 'pg';
import type { AppConfig } from '../src/infra/config/app-config.js';
import { QueueName } from '../src/infra/queues/queues.js';
import { buy, createActiveSale, query, statusCounts } from './support/buy.js';
import { waitFor } from './support/wait-for.js';
import { clearRedis, createTestDatabase, testConfig, testEnv, type TestDatabase } from './support/env.js';
import { startApi, type RunningApi } from './support/http.js';
import { runNode, type Child } from './support/processes.js';
import { createUsers, type TestUser } from './support/users.js';

const ORDERS = 50;

/**
 * A worker SIGKILLed with jobs in hand: another worker takes them over within
 * 10 s with the default lock settings (JOB_LOCK_MS 5000, renewed every 2.5 s;
 * JOB_STALLED_INTERVAL_MS 3000), not after a 30 s lock.
 */
describe('recovery: a killed worker’s jobs are taken over within 10 s on a quiet machine (defaults)', () => {
  let db: TestDatabase;
  let config: AppConfig;
  let env: Record<string, string>;
  let api: RunningApi;
  let admin: TestUser;
  let shoppers: TestUser[];
  let orders: Queue;
  const children: Child[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('recovery');
    // Only what the test needs differs from the defaults: the sweeper stays out of it (takeover is BullMQ's).
    env = testEnv(db.url, {
      WORKER_QUEUES: 'orders',
      SWEEP_AFTER_MS: '600000',
      OUTBOX_RELAY: 'false',
      LOG_LEVEL: 'log',
    });
    config = testConfig(db.url, env);
    expect([config.JOB_LOCK_MS, config.JOB_STALLED_INTERVAL_MS]).toEqual([5000, 3000]);
    api = await startApi(config);
    [admin] = await createUsers(api, db.url, 1, 'ADMIN');
    shoppers = await createUsers(api, db.url, ORDERS);
    orders = new Queue(QueueName.Orders, { connection: { url: config.REDIS_URL }, prefix: config.QUEUE_PREFIX });
  });

  afterAll(async () => {
    for (const child of children) await child.stop('SIGKILL');
    await orders.close();
    await api.close();
    await clearRedis(config);
    await db.drop();
  });

  it('jobs held by a SIGKILLed worker are persisted by the other worker within 10 s quiet, 15 s loaded, each once', async () => {
    const sale = await createActiveSale(api.url, admin, { stock: ORDERS });
    const admitted = await Promise.all(shoppers.map((u) => buy(api.url, u, sale.id)));
    expect(admitted.every((a) => a.status === 202)).toBe(true);

    // Hold the sale's row: the first worker's INSERT of the orders waits on it, its jobs stay active.
    const blocker = new pg.Client({ connectionString: db.url });
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query('SELECT 1 FROM sales WHERE id = $1 FOR UPDATE', [sale.id]);
    let killedAt: number;
    try {
      const first = runNode('worker.js', env);
      children.push(first);
      await first.waitFor(/worker ready/);
      // The admitted tickets travel in a few batch jobs; all of them are taken by the first worker.
      const held = await waitFor(
        'every job in the first worker’s hands',
        () => orders.getJobCounts('waiting', 'active'),
        (c) => c.waiting === 0 && (c.active ?? 0) > 0,
      );
      const second = runNode('worker.js', env);
      children.push(second);
      await second.waitFor(/worker ready/);
      // The second has nothing to do yet: nothing waits, the first still holds jobs (one may have
      // ended meanwhile on a loaded machine: a count equal to the first snapshot is not the point).
      const now = await orders.getJobCounts('waiting', 'active');
      expect({ waiting: now.waiting, held: (now.active ?? 0) > 0 && (now.active ?? 0) <= (held.active ?? 0) }).toEqual({
        waiting: 0,
        held: true,
      });

      expect(await first.stop('SIGKILL')).toBeNull();
      killedAt = Date.now();
    } finally {
      await blocker.query('ROLLBACK');
      await blocker.end();
    }
    await waitFor(
      `all ${ORDERS} orders persisted by the second worker`,
      () => statusCounts(db.url, sale.id),
      (c) => c.PENDING === ORDERS,
      20_000,
    );
    const seconds = (Date.now() - killedAt) / 1000;
    console.log(`jobs of a SIGKILLed worker taken over and persisted ${seconds.toFixed(1)} s after the kill`);
    // 5.7-5.9 s on a quiet machine (lock 5 s, stalled check every 3 s, then the batch persisted);
    // beside a CPU hog the persisting alone has taken 10.7 s: the bound leaves room for that.
    expect(seconds).toBeLessThan(15);
    const ids = await query<{ id: string }>(db.url, 'SELECT id FROM orders WHERE sale_id = $1', [sale.id]);
    expect(ids.map((r) => r.id).sort()).toEqual(admitted.map((a) => a.body.orderId).sort());
  });
});
