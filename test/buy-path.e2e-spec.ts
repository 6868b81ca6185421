import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { ulid } from 'ulid';
import { gateKeys } from '../src/gate/gate.keys.js';
import { GateAdmission } from '../src/gate/gate-admission.js';
import type { AppConfig } from '../src/infra/config/app-config.js';
import { EventName, QueueName } from '../src/infra/queues/queues.js';
import { RedisService } from '../src/infra/redis/redis.module.js';
import { available, buy, createActiveSale, outboxEventsOf, query, statusCounts } from './support/buy.js';
import type { TestDatabase } from './support/env.js';
import { startFixture, type ApiFixture } from './support/fixture.js';
import { waitFor } from './support/wait-for.js';
import { request, type RunningApi } from './support/http.js';
import type { TestUser } from './support/users.js';

describe('the buy path (real Postgres, Redis, BullMQ, parallel HTTP)', () => {
  let fx: ApiFixture;
  let db: TestDatabase;
  let config: AppConfig;
  let api: RunningApi;
  let admin: TestUser;
  let users: TestUser[];
  let redis: Redis;

  beforeAll(async () => {
    fx = await startFixture('buy', {
      env: { SWEEP_AFTER_MS: '500', SWEEP_INTERVAL_MS: '300', JOB_LOCK_MS: '2000' },
      users: 500,
      worker: true,
    });
    ({ db, config, api, admin, users } = fx);
    redis = new Redis(config.REDIS_URL);
  });

  afterAll(async () => {
    redis.disconnect();
    await fx.close();
  });

  async function allAwaitingPayment(saleId: string, count: number): Promise<void> {
    await waitFor(
      `${count} orders AWAITING_PAYMENT`,
      () => statusCounts(db.url, saleId),
      (c) => (c.AWAITING_PAYMENT ?? 0) === count && Object.keys(c).length === 1,
    );
  }

  it('spike: stock 50, limit 1, 500 users, 2,000 requests at once → exactly 50 orders, nothing oversold', async () => {
    const sale = await createActiveSale(api.url, admin, { stock: 50, perUserLimit: 1 });
    const shots = Array.from({ length: 2000 }, (_, i) => users[i % users.length]!);
    const answers = await Promise.all(shots.map((u) => buy(api.url, u, sale.id)));

    const byCode = new Map<string, number>();
    for (const a of answers) {
      const key = a.status === 202 ? '202' : `${a.status} ${a.body.code}`;
      byCode.set(key, (byCode.get(key) ?? 0) + 1);
    }
    expect(byCode.get('202')).toBe(50);
    expect([...byCode.keys()].sort()).toEqual(
      ['202', '409 LIMIT_EXCEEDED', '409 SOLD_OUT'].filter((k) => byCode.has(k)),
    );
    expect(byCode.get('409 SOLD_OUT')! + (byCode.get('409 LIMIT_EXCEEDED') ?? 0)).toBe(1950);

    await allAwaitingPayment(sale.id, 50);
    expect(await available(db.url, sale.id)).toBe(0);
    expect(await redis.hget(gateKeys(config.REDIS_KEY_PREFIX, sale.id).state, 'remaining')).toBe('0');
    const perUser = await query<{ n: string }>(
      db.url,
      'SELECT count(*) AS n FROM orders WHERE sale_id = $1 GROUP BY user_id HAVING count(*) > 1',
      [sale.id],
    );
    expect(perUser).toEqual([]);
    const admittedIds = answers.filter((a) => a.status === 202).map((a) => a.body.orderId);
    const stored = await query<{ id: string }>(db.url, 'SELECT id FROM orders WHERE sale_id = $1', [sale.id]);
    expect(stored.map((r) => r.id).sort()).toEqual(admittedIds.sort());

    const stats = await request<Record<string, unknown>>(api.url, 'GET', `/admin/sales/${sale.id}/stats`, {
      token: admin.token,
    });
    expect(stats.body).toMatchObject({
      stock: 50,
      remaining: 0,
      admitted: 50,
      ordersByStatus: { QUEUED: 0, PENDING: 0, AWAITING_PAYMENT: 50, FAILED: 0 },
      backlog: { tickets: 0 },
      stockOfRecord: 0,
    });
  });

  it('limit 3 with random quantities: no oversell, no limit broken, stock conserved', async () => {
    const sale = await createActiveSale(api.url, admin, { stock: 50, perUserLimit: 3 });
    const answers = await Promise.all(
      Array.from({ length: 1500 }, (_, i) =>
        buy(api.url, users[i % 300]!, sale.id, { quantity: 1 + Math.floor(Math.random() * 3) }),
      ),
    );
    const admitted = answers.filter((a) => a.status === 202);
    expect(answers.every((a) => a.status === 202 || ['SOLD_OUT', 'LIMIT_EXCEEDED'].includes(a.body.code!))).toBe(true);
    await allAwaitingPayment(sale.id, admitted.length);

    const [{ units }] = (await query<{ units: string }>(
      db.url,
      `SELECT coalesce(sum(quantity), 0) AS units FROM orders WHERE sale_id = $1 AND status NOT IN ('CANCELLED', 'FAILED')`,
      [sale.id],
    )) as [{ units: string }];
    expect(Number(units)).toBeLessThanOrEqual(50);
    expect(await available(db.url, sale.id)).toBe(50 - Number(units));
    const overLimit = await query(
      db.url,
      'SELECT user_id FROM orders WHERE sale_id = $1 GROUP BY user_id HAVING sum(quantity) > 3',
      [sale.id],
    );
    expect(overLimit).toEqual([]);
    // Conservation: the gate's remaining plus the units admitted equals the stock.
    const remaining = Number(await redis.hget(gateKeys(config.REDIS_KEY_PREFIX, sale.id).state, 'remaining'));
    expect(remaining + Number(units)).toBe(50);
  });

  it('Idempotency-Key: a replay (also concurrent) returns the first answer, never a second order', async () => {
    const sale = await createActiveSale(api.url, admin, { stock: 10, perUserLimit: 5 });
    const [shopper] = users;
    const key = { 'idempotency-key': `k-${ulid()}` };
    const answers = await Promise.all(Array.from({ length: 10 }, () => buy(api.url, shopper!, sale.id, {}, key)));
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(202));
    expect(new Set(answers.map((a) => a.body.orderId)).size).toBe(1);
    const later = await buy(api.url, shopper!, sale.id, {}, key);
    expect(later.body.orderId).toBe(answers[0]!.body.orderId);
    await allAwaitingPayment(sale.id, 1);
    // Another key is another purchase.
    const other = await buy(api.url, shopper!, sale.id, {}, { 'idempotency-key': `k-${ulid()}` });
    expect(other.status).toBe(202);
    expect(other.body.orderId).not.toBe(later.body.orderId);
    const bad = await buy(api.url, shopper!, sale.id, {}, { 'idempotency-key': 'spaces are not allowed' });
    expect(bad.status).toBe(400);
  });

  it('SALE_NOT_ACTIVE before the start, while paused and after the end', async () => {
    const [shopper] = users;
    const later = {
      startsAt: new Date(Date.now() + 3600_000).toISOString(),
      endsAt: new Date(Date.now() + 7200_000).toISOString(),
    };
    const upcoming = await createActiveSale(api.url, admin, later);
    expect((await buy(api.url, shopper!, upcoming.id)).body).toMatchObject({ code: 'SALE_NOT_ACTIVE' });
    const notPreheated = await createActiveSale(api.url, admin, later, false);
    expect((await buy(api.url, shopper!, notPreheated.id)).body).toMatchObject({ code: 'SALE_NOT_ACTIVE' });

    const sale = await createActiveSale(api.url, admin);
    await request(api.url, 'POST', `/admin/sales/${sale.id}/pause`, { token: admin.token });
    const paused = await buy(api.url, shopper!, sale.id);
    expect(paused.status).toBe(409);
    expect(paused.body).toMatchObject({ code: 'SALE_NOT_ACTIVE' });
    await request(api.url, 'POST', `/admin/sales/${sale.id}/resume`, { token: admin.token });
    expect((await buy(api.url, shopper!, sale.id)).status).toBe(202);
    await request(api.url, 'POST', `/admin/sales/${sale.id}/end`, { token: admin.token });
    expect((await buy(api.url, users[1]!, sale.id)).body).toMatchObject({ code: 'SALE_NOT_ACTIVE' });
  });

  it('unknown sale is 404; bad quantity is 400; no token is 401', async () => {
    const [shopper] = users;
    expect((await buy(api.url, shopper!, '00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await buy(api.url, shopper!, 'nope')).status).toBe(404);
    const sale = await createActiveSale(api.url, admin);
    for (const quantity of [0, -1, 1.5, 'two', 1001, null]) {
      const res = await buy(api.url, shopper!, sale.id, { quantity });
      expect([quantity, res.status, res.body.code]).toEqual([quantity, 400, 'VALIDATION_FAILED']);
    }
    expect((await request(api.url, 'POST', `/sales/${sale.id}/orders`, { body: {} })).status).toBe(401);
  });

  it('once sold out, a refusal does not touch Redis', async () => {
    const sale = await createActiveSale(api.url, admin, { stock: 1 });
    expect((await buy(api.url, users[0]!, sale.id)).status).toBe(202);
    expect((await buy(api.url, users[1]!, sale.id)).body).toMatchObject({ code: 'SOLD_OUT' });
    const client = api.app.get(RedisService).client;
    // The flag arrives on the pub/sub channel; wait until it is up.
    await waitFor(
      'the sold-out flag',
      async () => (await buy(api.url, users[2]!, sale.id)).body.code,
      (code) => code === 'SOLD_OUT',
    );
    const spy = jest.spyOn(client, 'sendCommand');
    try {
      const answers = await Promise.all(users.slice(3, 103).map((u) => buy(api.url, u, sale.id)));
      expect(answers.every((a) => a.body.code === 'SOLD_OUT')).toBe(true);
      const scripts = spy.mock.calls.filter(([command]) => /^eval/i.test((command as { name: string }).name));
      expect(scripts).toEqual([]);
    } finally {
      spy.mockRestore();
    }
  });

  it('a restock clears the sold-out flag', async () => {
    const sale = await createActiveSale(api.url, admin, { stock: 1 });
    expect((await buy(api.url, users[0]!, sale.id)).status).toBe(202);
    await waitFor(
      'sold out',
      async () => (await buy(api.url, users[1]!, sale.id)).body.code,
      (c) => c === 'SOLD_OUT',
    );
    await request(api.url, 'PATCH', `/admin/sales/${sale.id}`, { token: admin.token, body: { stock: 2 } });
    const next = await waitFor(
      'restock',
      () => buy(api.url, users[2]!, sale.id),
      (a) => a.status === 202,
    );
    expect(next.status).toBe(202);
  });

  it('an admitted ticket whose job was never added is swept into an order', async () => {
    const sale = await createActiveSale(api.url, admin, { stock: 5 });
    const admission = api.app.get(GateAdmission);
    const orderId = ulid();
    // What an API copy that died right after the Lua call leaves behind.
    const answer = await admission.admit({
      ticket: { orderId, saleId: sale.id, userId: users[0]!.id, quantity: 1, admittedAt: Date.now() },
      ip: '127.0.0.1',
    });
    expect(answer.code).toBe('OK');
    const queued = await request(api.url, 'GET', `/orders/${orderId}`, { token: users[0]!.token });
    expect(queued.body).toMatchObject({ status: 'QUEUED' });
    await allAwaitingPayment(sale.id, 1);
    expect((await request(api.url, 'GET', `/orders/${orderId}`, { token: users[0]!.token })).body).toMatchObject({
      id: orderId,
      status: 'AWAITING_PAYMENT',
      amount: 1000,
    });
  });

  it('the same outbox event delivered twice changes the stock once', async () => {
    const sale = await createActiveSale(api.url, admin, { stock: 5 });
    const res = await buy(api.url, users[0]!, sale.id);
    await allAwaitingPayment(sale.id, 1);
    expect(await available(db.url, sale.id)).toBe(4);
    const [event] = await outboxEventsOf(db.url, [res.body.orderId!], EventName.OrderPlaced);
    const connection = { url: config.REDIS_URL };
    const inventory = new Queue(QueueName.Inventory, { connection, prefix: config.QUEUE_PREFIX });
    const events = new QueueEvents(QueueName.Inventory, { connection, prefix: config.QUEUE_PREFIX });
    try {
      await events.waitUntilReady();
      // A relay redelivery after the first job was removed: another job, the same event.
      const job = await inventory.add(
        EventName.OrderPlaced,
        { rows: [{ eventId: event!.id, payloads: [event!.payload] }] },
        { jobId: `redelivery-${event!.id}` },
      );
      await job.waitUntilFinished(events, 10_000);
    } finally {
      await events.close();
      await inventory.close();
    }
    expect(await available(db.url, sale.id)).toBe(4);
    const answers = (await outboxEventsOf(db.url, [res.body.orderId!])).filter((e) => e.type.startsWith('inventory.'));
    expect(answers).toHaveLength(1);
  });

  it('GET /orders/:id is for the owner and admins only; /me/orders lists the own', async () => {
    const sale = await createActiveSale(api.url, admin, { stock: 5 });
    const res = await buy(api.url, users[7]!, sale.id);
    await allAwaitingPayment(sale.id, 1);
    const path = `/orders/${res.body.orderId}`;
    expect((await request(api.url, 'GET', path, { token: users[7]!.token })).status).toBe(200);
    expect((await request(api.url, 'GET', path, { token: admin.token })).status).toBe(200);
    const stranger = await request(api.url, 'GET', path, { token: users[8]!.token });
    expect(stranger.status).toBe(404);
    expect(stranger.body).toMatchObject({ code: 'ORDER_NOT_FOUND' });
    expect((await request(api.url, 'GET', '/orders/not-an-id', { token: users[7]!.token })).status).toBe(404);
    const mine = await request<{ items: { id: string }[] }>(api.url, 'GET', '/me/orders', { token: users[7]!.token });
    expect(mine.body.items.map((o) => o.id)).toContain(res.body.orderId);
  });

  it('malformed order ids are 404 ORDER_NOT_FOUND on every route of an order', async () => {
    for (const id of ['not-an-id', '01JD3Z6W5Q8K4N2M7P9R1T3V5', '01jd3z6w5q8k4n2m7p9r1t3v5x']) {
      for (const [method, path] of [
        ['GET', `/orders/${id}`],
        ['GET', `/orders/${id}/events`],
        ['POST', `/orders/${id}/pay`],
        ['POST', `/orders/${id}/cancel`],
      ] as const) {
        const res = await request(api.url, method, path, { token: users[9]!.token });
        expect([method, path, res.status, res.body]).toEqual([
          method,
          path,
          404,
          { statusCode: 404, code: 'ORDER_NOT_FOUND', message: 'No such order' },
        ]);
      }
    }
  });
});
