import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplicationContext } from '@nestjs/common';
import { Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { ulid } from 'ulid';
import { GateAdmission } from '../src/gate/gate-admission.js';
import { GateReadModel } from '../src/gate/gate-read-model.js';
import type { AppConfig } from '../src/infra/config/app-config.js';
import { QueueName } from '../src/infra/queues/queues.js';
import { available, buy, createActiveSale, query, statusCounts } from './support/buy.js';
import { testEnv, type TestDatabase } from './support/env.js';
import { startFixture, type ApiFixture } from './support/fixture.js';
import { waitFor } from './support/wait-for.js';
import { request, startApi, type RunningApi } from './support/http.js';
import { runNode } from './support/processes.js';
import type { TestUser } from './support/users.js';
import { startWorker } from './support/worker.js';

/** Reads server-sent events from a live stream. */
async function* sse(url: string, token: string): AsyncGenerator<{ event: string; data: Record<string, unknown> }> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  if (res.status !== 200 || !res.body) throw new Error(`SSE answered ${res.status}`);
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event && data) yield { event, data: JSON.parse(data) as Record<string, unknown> };
    }
  }
}

describe('buy path under stress: backlog cap, live status, crashes, poison', () => {
  let fx: ApiFixture;
  let db: TestDatabase;
  let config: AppConfig;
  let api: RunningApi;
  let admin: TestUser;
  let users: TestUser[];

  beforeAll(async () => {
    fx = await startFixture('resilience', {
      env: {
        BACKLOG_CAP: '3',
        RETRY_AFTER_SECONDS: '3',
        JOB_LOCK_MS: '2000',
        JOB_ATTEMPTS: '2',
        JOB_BACKOFF_MS: '50',
        SWEEP_AFTER_MS: '60000',
      },
      users: 400,
    });
    ({ db, config, api, admin, users } = fx);
  });

  afterAll(async () => {
    await fx.close();
  });

  it('BUSY with Retry-After when the backlog is at its cap; SSE shows QUEUED → PENDING → AWAITING_PAYMENT', async () => {
    const sale = await createActiveSale(api.url, admin, { stock: 10 });
    const first = await buy(api.url, users[0]!, sale.id);
    const stream = sse(`${api.url}/orders/${first.body.orderId}/events`, users[0]!.token);
    expect((await stream.next()).value).toMatchObject({ event: 'status', data: { status: 'QUEUED' } });

    expect((await buy(api.url, users[1]!, sale.id)).status).toBe(202);
    expect((await buy(api.url, users[2]!, sale.id)).status).toBe(202);
    const busy = await buy(api.url, users[3]!, sale.id);
    expect(busy.status).toBe(503);
    expect(busy.body).toMatchObject({ code: 'BUSY' });
    expect(busy.headers.get('retry-after')).toBe('3');

    const worker: INestApplicationContext = await startWorker(config);
    try {
      const seen: string[] = [];
      for await (const { data } of stream) {
        seen.push(data.status as string);
        if (data.status === 'AWAITING_PAYMENT') break;
      }
      expect(seen).toEqual(['PENDING', 'AWAITING_PAYMENT']);
      await waitFor(
        'the backlog to drain',
        () => statusCounts(db.url, sale.id),
        (c) => c.AWAITING_PAYMENT === 3,
      );
      expect((await buy(api.url, users[3]!, sale.id)).status).toBe(202);
      await waitFor(
        '4 orders',
        () => statusCounts(db.url, sale.id),
        (c) => c.AWAITING_PAYMENT === 4,
      );
    } finally {
      await worker.close();
    }
  });

  it('inventory refusing an order makes it FAILED and gives the units back to the gate', async () => {
    const sale = await createActiveSale(api.url, admin, { stock: 2 });
    // Drift: the stock of record has less than the gate believes.
    await query(db.url, 'UPDATE inventory SET available = 0 WHERE sale_id = $1', [sale.id]);
    const worker = await startWorker(config);
    try {
      const res = await buy(api.url, users[5]!, sale.id);
      const counts = await waitFor(
        'FAILED',
        () => statusCounts(db.url, sale.id),
        (c) => c.FAILED === 1,
      );
      expect(counts).toEqual({ FAILED: 1 });
      const order = await request(api.url, 'GET', `/orders/${res.body.orderId}`, { token: users[5]!.token });
      expect(order.body).toMatchObject({ status: 'FAILED', failureReason: 'OUT_OF_STOCK' });
      expect(await api.app.get(GateReadModel).remaining(sale.id)).toBe(2);
      // The buyer's count went back too: the same shopper may try again.
      expect((await buy(api.url, users[5]!, sale.id)).status).toBe(202);
    } finally {
      await worker.close();
    }
  });

  it('a poison ticket ends in the failed set after its attempts and leaks no reservation', async () => {
    const sale = await createActiveSale(api.url, admin, { stock: 3 });
    const admission = api.app.get(GateAdmission);
    const gateReads = api.app.get(GateReadModel);
    const orderId = ulid();
    // A ticket no worker can persist: its user does not exist (foreign key).
    const ticket = { orderId, saleId: sale.id, userId: randomUUID(), quantity: 1, admittedAt: Date.now() };
    await admission.admit({ ticket, ip: '127.0.0.1' });
    expect(await gateReads.remaining(sale.id)).toBe(2);
    const queue = new Queue(QueueName.Orders, { connection: { url: config.REDIS_URL }, prefix: config.QUEUE_PREFIX });
    const worker = await startWorker(config);
    try {
      await queue.add('order.place', ticket, { jobId: orderId, attempts: 2, backoff: { type: 'fixed', delay: 50 } });
      await waitFor(
        'the job to fail for good',
        () => queue.getJobState(orderId),
        (s) => s === 'failed',
      );
      const job = await queue.getJob(orderId);
      expect(job!.attemptsMade).toBe(2);
      expect(job!.failedReason).toMatch(/foreign key|violates/i);
      await waitFor(
        'the units back',
        () => gateReads.remaining(sale.id),
        (r) => r === 3,
      );
      expect(await gateReads.pendingCount(sale.id)).toBe(0);
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  it('a worker killed (SIGKILL) mid-batch: every admitted order still ends AWAITING_PAYMENT exactly once', async () => {
    const sale = await createActiveSale(api.url, admin, { stock: 2000, perUserLimit: 5 });
    const env = testEnv(db.url, {
      REDIS_KEY_PREFIX: config.REDIS_KEY_PREFIX,
      QUEUE_PREFIX: config.QUEUE_PREFIX,
      JOB_LOCK_MS: '2000',
      WORKER_CONCURRENCY: '50',
      BATCH_SIZE: '20',
      LOG_LEVEL: 'log',
    });
    // The cap of this suite is 3 tickets; lift it for the volley by using a second API.
    const volleyApi = await startApi({ ...config, BACKLOG_CAP: 100_000 } as AppConfig);
    const shoppers = users.slice(0, 400).flatMap((u) => [u, u, u, u, u]);
    const answers = await Promise.all(shoppers.map((u) => buy(volleyApi.url, u, sale.id)));
    await volleyApi.close();
    const admitted = answers.filter((a) => a.status === 202).map((a) => a.body.orderId!);
    expect(admitted).toHaveLength(2000);

    const first = runNode('worker.js', env);
    await first.waitFor(/worker ready/);
    await waitFor(
      'some orders persisted',
      () => statusCounts(db.url, sale.id),
      (c) => (c.PENDING ?? 0) + (c.AWAITING_PAYMENT ?? 0) > 0,
      20_000,
    );
    expect(await first.stop('SIGKILL')).toBeNull();
    const atKill = await statusCounts(db.url, sale.id);
    expect(atKill.AWAITING_PAYMENT ?? 0).toBeLessThan(2000); // killed with work in flight

    const second = runNode('worker.js', env);
    try {
      await waitFor(
        'all 2000 AWAITING_PAYMENT',
        () => statusCounts(db.url, sale.id),
        (c) => c.AWAITING_PAYMENT === 2000,
        40_000,
      );
    } catch (err) {
      console.log(second.output().slice(-3000), JSON.stringify(atKill));
      throw err;
    } finally {
      expect(await second.stop('SIGTERM')).toBe(0);
    }
    const ids = await query<{ id: string }>(db.url, 'SELECT id FROM orders WHERE sale_id = $1', [sale.id]);
    expect(ids.map((r) => r.id).sort()).toEqual(admitted.sort());
    expect(await available(db.url, sale.id)).toBe(0);
    const confirmations = await query<{ n: string }>(
      db.url,
      `SELECT count(*) AS n FROM outbox_events, jsonb_array_elements(payload) AS e
       WHERE type = 'order.confirmed' AND e->>'saleId' = $1`,
      [sale.id],
    );
    expect(Number(confirmations[0]!.n)).toBe(2000);
  });
});
