import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplicationContext } from '@nestjs/common';
import { Queue } from 'bullmq';
import pg from 'pg';
import { ulid } from 'ulid';
import { JobWorkers } from '../src/infra/queues/job-workers.js';
import { EventName, QueueName } from '../src/infra/queues/queues.js';
import { OrderPipelineService } from '../src/orders/order-pipeline.service.js';
import { buy, createActiveSale, statusCounts } from './support/buy.js';
import { startFixture, type ApiFixture } from './support/fixture.js';
import { waitFor } from './support/wait-for.js';
import { startWorker } from './support/worker.js';

/** More hot transactions at once than the worker's pool has connections (20). */
const ORDERS = 30;

/**
 * A worker behind a backlog runs as many hot transactions as its pool has
 * connections, and more wait for one. A transaction that needs a second
 * connection of the same pool while it holds one (the sale lookup on a cache
 * miss) then waits for ever: every connection is held by a transaction
 * waiting the same way (a worker in `bench:backlog` confirmed nothing for
 * 200 s, every connection "idle in transaction").
 */
describe('worker backlog: inventory answers with every pool connection busy', () => {
  let f: ApiFixture;

  beforeAll(async () => {
    f = await startFixture('backlog', {
      users: ORDERS,
      worker: 'orders',
      // One transaction per answer (no merging), the sale looked up each time (a cache miss every
      // time), no relay: the answers below are the only ones.
      env: { BATCH_SIZE: '1', STOREFRONT_CACHE_MS: '0', OUTBOX_RELAY: 'false' },
    });
  });

  afterAll(async () => {
    await f.close();
  });

  it(`${ORDERS} answers at once, each its own transaction, all applied within 20 s`, async () => {
    const sale = await createActiveSale(f.api.url, f.admin, { stock: ORDERS });
    const answers = await Promise.all(f.users.map((u) => buy(f.api.url, u, sale.id)));
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 202));
    await waitFor(
      'every order PENDING',
      () => statusCounts(f.db.url, sale.id),
      (c) => c.PENDING === ORDERS,
    );

    const pipeline = f.worker!.get(OrderPipelineService);
    const applied = Promise.all(
      answers.map((a) =>
        pipeline.applyInventoryAnswers([
          {
            eventId: ulid(),
            type: EventName.InventoryReserved,
            payload: { orderId: a.body.orderId!, saleId: sale.id, quantity: 1 },
          },
        ]),
      ),
    );
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      applied.then(() => 'applied'),
      new Promise<string>((resolve) => (timer = setTimeout(() => resolve('stuck for 20 s'), 20_000))),
    ]).finally(() => clearTimeout(timer));
    expect(outcome).toBe('applied');
    expect(await statusCounts(f.db.url, sale.id)).toEqual({ AWAITING_PAYMENT: ORDERS });
  }, 60_000);
});

/** Tickets admitted before the worker starts, in hand-off jobs of TICKETS_PER_JOB each. */
const BACKLOG = 200;
const TICKETS_PER_JOB = 10;
const MAX_ITEMS = 30;

/** The tickets of these jobs (the sweeper's job beside them carries none). */
const ticketsOf = (jobs: { data: unknown }[]): number =>
  jobs.reduce((n, j) => n + ((j.data as { tickets?: unknown[] }).tickets?.length ?? 0), 0);

/**
 * A worker started on a backlog takes jobs while the items (tickets) of its
 * jobs stay within WORKER_MAX_ITEMS, not WORKER_CONCURRENCY jobs whatever
 * their size: the backlog waits in Redis, not in the worker's heap
 * (bench:backlog: 150,000 tickets fetched at once, 200 MB of a 256 MB heap).
 */
describe('worker backlog: the items a worker holds are bounded', () => {
  let f: ApiFixture;
  let worker: INestApplicationContext | undefined;
  let orders: Queue;

  beforeAll(async () => {
    f = await startFixture('backlog-items', {
      users: BACKLOG,
      env: {
        // Batches of exactly TICKETS_PER_JOB (a batch closes when full, the linger never ends one).
        HANDOFF_MAX_TICKETS: String(TICKETS_PER_JOB),
        HANDOFF_LINGER_MS: '60000',
        WORKER_MAX_ITEMS: String(MAX_ITEMS),
        OUTBOX_RELAY: 'false',
      },
    });
    orders = new Queue(QueueName.Orders, { connection: { url: f.config.REDIS_URL }, prefix: f.config.QUEUE_PREFIX });
  });

  afterAll(async () => {
    await worker?.close();
    await orders.close();
    await f.close();
  });

  it(`${BACKLOG} tickets waiting: at most ${MAX_ITEMS} in the worker's hands, then all persisted`, async () => {
    const sale = await createActiveSale(f.api.url, f.admin, { stock: BACKLOG });
    const answers = await Promise.all(f.users.map((u) => buy(f.api.url, u, sale.id)));
    expect(answers.every((a) => a.status === 202)).toBe(true);
    await waitFor(
      'every ticket handed over',
      async () => ticketsOf(await orders.getJobs(['waiting'])),
      (n) => n === BACKLOG,
    );

    // The sale's row held: the worker's inserts wait on it, the jobs it took stay in its hands.
    const blocker = new pg.Client({ connectionString: f.db.url });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT 1 FROM sales WHERE id = $1 FOR UPDATE', [sale.id]);
      worker = await startWorker({ ...f.config, WORKER_QUEUES: 'orders' });
      const bull = worker.get(JobWorkers).all().get(QueueName.Orders)!;
      // At its budget the worker fetches nothing more: its concurrency is the jobs it holds.
      const held = await waitFor(
        'the worker at its item budget',
        async () => ({ tickets: ticketsOf(await orders.getJobs(['active'])), concurrency: bull.concurrency }),
        (h) => h.tickets >= MAX_ITEMS && h.concurrency < f.config.WORKER_CONCURRENCY,
      );
      expect(held).toEqual({ tickets: MAX_ITEMS, concurrency: MAX_ITEMS / TICKETS_PER_JOB });
      expect(ticketsOf(await orders.getJobs(['waiting']))).toBe(BACKLOG - MAX_ITEMS);
    } finally {
      await blocker.query('ROLLBACK').catch(() => undefined);
      await blocker.end();
    }
    await waitFor(
      'every ticket persisted',
      () => statusCounts(f.db.url, sale.id),
      (c) => c.PENDING === BACKLOG,
    );
  }, 90_000);
});
