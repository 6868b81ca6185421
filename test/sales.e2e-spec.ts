import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplicationContext } from '@nestjs/common';
import { Job, Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { gateKeys } from '../src/gate/gate.keys.js';
import { GateRebuild } from '../src/gate/gate-rebuild.js';
import type { AppConfig } from '../src/infra/config/app-config.js';
import { QueueName } from '../src/infra/queues/queues.js';
import { preheatJobId } from '../src/sale-admin/sales.service.js';
import type { SaleView } from '../src/sales/sale-view.js';
import type { TestDatabase } from './support/env.js';
import { startFixture, type ApiFixture } from './support/fixture.js';
import { request, startApi, type RunningApi } from './support/http.js';
import { createUsers, type TestUser } from './support/users.js';
import { startWorker } from './support/worker.js';

const HOUR = 3600_000;
const iso = (ms: number): string => new Date(Date.now() + ms).toISOString();

describe('flash-sale management and storefront', () => {
  let fx: ApiFixture;
  let db: TestDatabase;
  let config: AppConfig;
  let api: RunningApi;
  let admin: TestUser;
  let redis: Redis;
  let sql: pg.Client;

  beforeAll(async () => {
    fx = await startFixture('sales', { env: { PREHEAT_LEAD_SECONDS: '2', STOREFRONT_CACHE_MS: '1000' } });
    ({ db, config, api, admin } = fx);
    redis = new Redis(config.REDIS_URL);
    sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
  });

  afterAll(async () => {
    redis.disconnect();
    await sql.end();
    await fx.close();
  });

  const asAdmin = <T = SaleView>(method: string, path: string, body?: unknown) =>
    request<T>(api.url, method, path, { token: admin!.token, body });

  function saleBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      name: 'Phone X',
      sku: 'PX-1',
      price: 19_900,
      stock: 100,
      perUserLimit: 2,
      startsAt: iso(HOUR),
      endsAt: iso(2 * HOUR),
      ...overrides,
    };
  }

  async function createSale(overrides: Record<string, unknown> = {}): Promise<SaleView> {
    const res = await asAdmin('POST', '/admin/sales', saleBody(overrides));
    expect(res.status).toBe(201);
    return res.body;
  }

  /** Units taken by shoppers, as the gate's admission will record them. */
  async function takeFromGate(saleId: string, units: number): Promise<void> {
    await redis.hincrby(gateKeys(config.REDIS_KEY_PREFIX, saleId).state, 'remaining', -units);
  }

  it('creates a sale with its stock of record (201)', async () => {
    const sale = await createSale();
    expect(sale).toMatchObject({ stock: 100, remaining: 100, status: 'UPCOMING', preheated: false, paused: false });
    const { rows } = await sql.query('SELECT available FROM inventory WHERE sale_id = $1', [sale.id]);
    expect(rows).toEqual([{ available: 100 }]);
  });

  it('lists sales paged', async () => {
    await createSale({ name: 'second' });
    const page1 = await asAdmin<{ items: SaleView[]; total: number; page: number; pageSize: number }>(
      'GET',
      '/admin/sales?page=1&pageSize=1',
    );
    expect(page1.status).toBe(200);
    expect(page1.body.items).toHaveLength(1);
    expect(page1.body.total).toBeGreaterThanOrEqual(2);
    const bad = await asAdmin('GET', '/admin/sales?pageSize=1000');
    expect(bad.status).toBe(400);
  });

  describe('validation of each field', () => {
    it.each([
      ['name', { name: '' }, 'must be longer than or equal to 1 characters'],
      ['name', { name: undefined }, 'is required'],
      ['sku', { sku: 'has space' }, 'must be 1-64 letters, digits, ".", "_" or "-"'],
      ['price', { price: 0 }, 'must not be less than 1'],
      ['price', { price: 9.99 }, 'must be an integer number'],
      ['price', { price: '100' }, 'must be an integer number'],
      ['stock', { stock: 0 }, 'must not be less than 1'],
      ['stock', { stock: 10_000_001 }, 'must not be greater than 10000000'],
      ['perUserLimit', { perUserLimit: 0 }, 'must not be less than 1'],
      ['perUserLimit', { perUserLimit: undefined }, 'is required'],
      ['startsAt', { startsAt: 'tomorrow' }, 'must be an ISO 8601 date-time'],
      ['endsAt', { endsAt: 12345 }, 'must be an ISO 8601 date-time'],
      ['endsAt', { startsAt: iso(-2 * HOUR), endsAt: iso(-HOUR) }, 'must be in the future'],
      [
        'perUserLimit',
        { price: 100_000_000, perUserLimit: 1000 },
        'price × perUserLimit must not exceed 2147483647 minor units',
      ],
      ['extra', { extra: true }, 'is not an allowed field'],
    ])('create: a bad %s is 400 VALIDATION_FAILED naming it', async (field, overrides, problem) => {
      const res = await asAdmin('POST', '/admin/sales', saleBody(overrides));
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED', details: [{ field, problem }] });
    });

    it('update: a bad field is 400 and changes nothing', async () => {
      const sale = await createSale();
      const res = await asAdmin('PATCH', `/admin/sales/${sale.id}`, { stock: -5 });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ details: [{ field: 'stock', problem: 'must not be less than 0' }] });
      expect((await asAdmin('GET', `/admin/sales/${sale.id}`)).body).toMatchObject({ stock: 100 });
    });
  });

  describe('rules', () => {
    it('endsAt must be after startsAt', async () => {
      const res = await asAdmin('POST', '/admin/sales', saleBody({ startsAt: iso(HOUR), endsAt: iso(HOUR - 1000) }));
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        code: 'VALIDATION_FAILED',
        details: [{ field: 'endsAt', problem: 'must be after startsAt' }],
      });
    });

    it('stock can be raised at any time, also while the sale runs', async () => {
      const sale = await createSale({ startsAt: iso(-1000) });
      await asAdmin('POST', `/admin/sales/${sale.id}/preheat`);
      await takeFromGate(sale.id, 30);
      const res = await asAdmin('PATCH', `/admin/sales/${sale.id}`, { stock: 150 });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ stock: 150, remaining: 120 });
      const { rows } = await sql.query(
        'SELECT s.stock, i.available FROM sales s JOIN inventory i ON i.sale_id = s.id WHERE s.id = $1',
        [sale.id],
      );
      expect(rows).toEqual([{ stock: 150, available: 150 }]);
    });

    it('a stock change reaches the gate once: from the old stock to the new (compare and set)', async () => {
      const sale = await createSale({ startsAt: iso(-1000), stock: 10 });
      await asAdmin('POST', `/admin/sales/${sale.id}/preheat`);
      const rebuilder = api.app.get(GateRebuild);
      expect(await rebuilder.adjustStock(sale.id, 10, 15)).toEqual({ status: 'done', remaining: 15 });
      // Applied again (a retry, or a rebuild that already wrote the new stock): nothing more.
      expect(await rebuilder.adjustStock(sale.id, 10, 15)).toEqual({ status: 'done', remaining: 15 });
      // A change from a stock the gate is not at is refused, not applied on top.
      expect(await rebuilder.adjustStock(sale.id, 12, 20)).toEqual({ status: 'conflict', remaining: 15 });
      expect(await rebuilder.adjustStock(sale.id, 15, 4)).toEqual({ status: 'done', remaining: 4 });
      await takeFromGate(sale.id, 4);
      expect(await rebuilder.adjustStock(sale.id, 4, 3)).toEqual({ status: 'refused', remaining: 0 });
    });

    it('stock can be lowered only down to what is sold (409 STOCK_BELOW_SOLD)', async () => {
      const sale = await createSale({ startsAt: iso(-1000) });
      await asAdmin('POST', `/admin/sales/${sale.id}/preheat`);
      await takeFromGate(sale.id, 40); // 40 sold, 60 remaining
      const tooLow = await asAdmin('PATCH', `/admin/sales/${sale.id}`, { stock: 39 });
      expect(tooLow.status).toBe(409);
      expect(tooLow.body).toMatchObject({ code: 'STOCK_BELOW_SOLD' });
      expect((tooLow.body as unknown as { message: string }).message).toMatch(/40/);
      // Nothing changed anywhere.
      expect((await asAdmin('GET', `/admin/sales/${sale.id}`)).body).toMatchObject({ stock: 100, remaining: 60 });

      const exact = await asAdmin('PATCH', `/admin/sales/${sale.id}`, { stock: 40 });
      expect(exact.status).toBe(200);
      expect(exact.body).toMatchObject({ stock: 40, remaining: 0, status: 'SOLD_OUT' });
    });

    it('stock of a sale not yet preheated is checked against the stock of record', async () => {
      const sale = await createSale();
      await sql.query('UPDATE inventory SET available = 10 WHERE sale_id = $1', [sale.id]); // 90 reserved
      expect((await asAdmin('PATCH', `/admin/sales/${sale.id}`, { stock: 89 })).body).toMatchObject({
        code: 'STOCK_BELOW_SOLD',
      });
      expect((await asAdmin('PATCH', `/admin/sales/${sale.id}`, { stock: 95 })).body).toMatchObject({
        stock: 95,
        remaining: 5,
      });
    });

    it('the start of a sale that has begun cannot move (409 SALE_ALREADY_STARTED)', async () => {
      const sale = await createSale({ startsAt: iso(-1000) });
      const res = await asAdmin('PATCH', `/admin/sales/${sale.id}`, { startsAt: iso(HOUR / 2) });
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ code: 'SALE_ALREADY_STARTED' });
      // Other fields of a running sale can change.
      expect((await asAdmin('PATCH', `/admin/sales/${sale.id}`, { name: 'renamed' })).body).toMatchObject({
        name: 'renamed',
      });
    });

    it('the start of an upcoming sale can move, and its preheat moves with it', async () => {
      const sale = await createSale();
      const later = iso(HOUR + 60_000);
      const res = await asAdmin('PATCH', `/admin/sales/${sale.id}`, { startsAt: later });
      expect(res.status).toBe(200);
      const queue = new Queue(QueueName.Promotions, {
        connection: { url: config.REDIS_URL },
        prefix: config.QUEUE_PREFIX,
      });
      try {
        expect(
          await queue.getJob(preheatJobId(sale.id, Date.parse(sale.startsAt as unknown as string))),
        ).toBeUndefined();
        expect(await queue.getJob(preheatJobId(sale.id, Date.parse(later)))).toBeDefined();
      } finally {
        await queue.close();
      }
    });

    it('a sale with orders cannot be deleted (409 SALE_HAS_ORDERS); one without can (204)', async () => {
      const [buyer] = await createUsers(api, db.url, 1);
      const sale = await createSale();
      await sql.query(
        `INSERT INTO orders (id, sale_id, user_id, quantity, amount, status, admitted_at, updated_at)
         VALUES ('01JTESTORDER00000000000000', $1, $2, 1, 19900, 'PENDING', now(), now())`,
        [sale.id, buyer!.id],
      );
      const refused = await asAdmin('DELETE', `/admin/sales/${sale.id}`);
      expect(refused.status).toBe(409);
      expect(refused.body).toMatchObject({ code: 'SALE_HAS_ORDERS' });

      const empty = await createSale();
      await asAdmin('POST', `/admin/sales/${empty.id}/preheat`);
      expect((await asAdmin('DELETE', `/admin/sales/${empty.id}`)).status).toBe(204);
      expect((await asAdmin('GET', `/admin/sales/${empty.id}`)).status).toBe(404);
      expect(await redis.exists(gateKeys(config.REDIS_KEY_PREFIX, empty.id).state)).toBe(0);
    });

    it('a sale with admissions still in flight cannot be deleted either', async () => {
      const sale = await createSale({ startsAt: iso(-1000) });
      await asAdmin('POST', `/admin/sales/${sale.id}/preheat`);
      await takeFromGate(sale.id, 1);
      expect((await asAdmin('DELETE', `/admin/sales/${sale.id}`)).body).toMatchObject({ code: 'SALE_HAS_ORDERS' });
      // The refusal left the gate open again.
      expect(await redis.hget(gateKeys(config.REDIS_KEY_PREFIX, sale.id).state, 'paused')).toBe('0');
    });

    it('pause, resume and end are written to the gate; an ended sale refuses changes (409 SALE_ENDED)', async () => {
      const sale = await createSale({ startsAt: iso(-1000) });
      await asAdmin('POST', `/admin/sales/${sale.id}/preheat`);
      const state = gateKeys(config.REDIS_KEY_PREFIX, sale.id).state;
      expect((await asAdmin('POST', `/admin/sales/${sale.id}/pause`)).body).toMatchObject({ paused: true });
      expect(await redis.hget(state, 'paused')).toBe('1');
      expect((await asAdmin('POST', `/admin/sales/${sale.id}/resume`)).body).toMatchObject({ paused: false });
      expect(await redis.hget(state, 'paused')).toBe('0');
      const ended = await asAdmin('POST', `/admin/sales/${sale.id}/end`);
      expect(ended.body).toMatchObject({ status: 'ENDED' });
      expect(Number(await redis.hget(state, 'endsAt'))).toBeLessThanOrEqual(Date.now());
      expect((await asAdmin('POST', `/admin/sales/${sale.id}/end`)).status).toBe(200);
      for (const [method, path, body] of [
        ['PATCH', `/admin/sales/${sale.id}`, { stock: 500 }],
        ['POST', `/admin/sales/${sale.id}/pause`, undefined],
        ['POST', `/admin/sales/${sale.id}/resume`, undefined],
      ] as const) {
        const res = await asAdmin(method, path, body);
        expect([path, res.status, (res.body as unknown as { code: string }).code]).toEqual([path, 409, 'SALE_ENDED']);
      }
    });

    it('unknown or malformed ids are 404 SALE_NOT_FOUND on every route of a sale', async () => {
      for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid', '0F4C2A9E-5B8D-4E21-9A7C-3D6B1E8F2A4']) {
        for (const [method, path] of [
          ['GET', `/admin/sales/${id}`],
          ['PATCH', `/admin/sales/${id}`],
          ['DELETE', `/admin/sales/${id}`],
          ['POST', `/admin/sales/${id}/preheat`],
          ['POST', `/admin/sales/${id}/pause`],
          ['POST', `/admin/sales/${id}/resume`],
          ['POST', `/admin/sales/${id}/end`],
          ['POST', `/admin/sales/${id}/reconcile`],
          ['GET', `/admin/sales/${id}/stats`],
          ['GET', `/admin/sales/${id}/room`],
          ['POST', `/admin/sales/${id}/room/pause`],
          ['POST', `/admin/sales/${id}/room/resume`],
          ['GET', `/sales/${id}`],
          ['POST', `/sales/${id}/queue`],
          ['GET', `/sales/${id}/queue`],
          ['DELETE', `/sales/${id}/queue`],
          ['GET', `/sales/${id}/queue/challenge`],
          ['POST', `/sales/${id}/orders`],
        ] as const) {
          const res = await asAdmin(method, path, method === 'PATCH' ? { name: 'x' } : undefined);
          expect([method, path, res.status, res.body]).toEqual([
            method,
            path,
            404,
            { statusCode: 404, code: 'SALE_NOT_FOUND', message: 'No such sale' },
          ]);
        }
      }
    });
  });

  describe('preheat', () => {
    it('loads the gate and is idempotent: a second preheat does not restore stock already taken', async () => {
      const sale = await createSale({ stock: 10, perUserLimit: 3 });
      const first = await asAdmin('POST', `/admin/sales/${sale.id}/preheat`);
      expect(first.body).toMatchObject({ preheated: true, remaining: 10 });
      const state = gateKeys(config.REDIS_KEY_PREFIX, sale.id).state;
      expect(await redis.hgetall(state)).toMatchObject({
        stock: '10',
        remaining: '10',
        limit: '3',
        paused: '0',
        price: '19900',
        startsAt: String(Date.parse(sale.startsAt as unknown as string)),
      });
      await takeFromGate(sale.id, 4);
      const second = await asAdmin('POST', `/admin/sales/${sale.id}/preheat`);
      expect(second.body).toMatchObject({ remaining: 6 });
      expect(await redis.hget(state, 'remaining')).toBe('6');
    });

    it('happens automatically PREHEAT_LEAD_SECONDS before the start (delayed job on the worker)', async () => {
      const worker: INestApplicationContext = await startWorker({
        ...config,
        WORKER_QUEUES: QueueName.Promotions,
      } as AppConfig);
      const events = new QueueEvents(QueueName.Promotions, {
        connection: { url: config.REDIS_URL },
        prefix: config.QUEUE_PREFIX,
      });
      const queue = new Queue(QueueName.Promotions, {
        connection: { url: config.REDIS_URL },
        prefix: config.QUEUE_PREFIX,
      });
      try {
        await events.waitUntilReady();
        const startsAt = Date.now() + 3500; // lead 2 s: the job is due in about 1.5 s
        const sale = await createSale({ startsAt: new Date(startsAt).toISOString(), stock: 7 });
        const job = await Job.fromId(queue, preheatJobId(sale.id, startsAt));
        expect(job).toBeDefined();
        expect(await job!.isDelayed()).toBe(true);
        await job!.waitUntilFinished(events, 15_000);
        expect(Date.now()).toBeLessThan(startsAt);
        expect(await redis.hget(gateKeys(config.REDIS_KEY_PREFIX, sale.id).state, 'remaining')).toBe('7');
      } finally {
        await events.close();
        await queue.close();
        await worker.close();
      }
    });
  });

  describe('storefront (public)', () => {
    it('serves a sale with remaining from the gate, status, serverTime and cache headers', async () => {
      const sale = await createSale({ startsAt: iso(-1000), stock: 20 });
      await asAdmin('POST', `/admin/sales/${sale.id}/preheat`);
      await takeFromGate(sale.id, 5);
      const res = await request(api.url, 'GET', `/sales/${sale.id}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toMatch(/public, max-age=1/);
      expect(res.body).toMatchObject({ id: sale.id, stock: 20, remaining: 15, status: 'ACTIVE', perUserLimit: 2 });
      expect(Math.abs(Date.parse(res.body.serverTime as string) - Date.now())).toBeLessThan(5000);
      await takeFromGate(sale.id, 15);
      expect((await request(api.url, 'GET', `/sales/${sale.id}`)).body).toMatchObject({
        remaining: 0,
        status: 'SOLD_OUT',
      });
    });

    it('reads the sale row from the in-process cache, not Postgres per request', async () => {
      const cached = await startApi({ ...config, STOREFRONT_CACHE_MS: 60_000 } as AppConfig);
      try {
        const sale = await createSale({ name: 'cached name' });
        expect((await request(cached.url, 'GET', `/sales/${sale.id}`)).body).toMatchObject({ name: 'cached name' });
        await sql.query(`UPDATE sales SET name = 'changed in db' WHERE id = $1`, [sale.id]);
        const burst = await Promise.all(
          Array.from({ length: 20 }, () => request(cached.url, 'GET', `/sales/${sale.id}`)),
        );
        expect(new Set(burst.map((r) => r.body.name))).toEqual(new Set(['cached name']));
        // remaining still comes live from the gate
        await asAdmin('POST', `/admin/sales/${sale.id}/preheat`);
        await takeFromGate(sale.id, 3);
        expect((await request(cached.url, 'GET', `/sales/${sale.id}`)).body).toMatchObject({ remaining: 97 });
      } finally {
        await cached.close();
      }
    });

    it('lists upcoming and active sales, not ended ones', async () => {
      const upcoming = await createSale({ name: 'soon' });
      const ended = await createSale({ name: 'over', startsAt: iso(-1000) });
      await asAdmin('POST', `/admin/sales/${ended.id}/end`);
      // The list is cached for STOREFRONT_CACHE_MS; wait for a fresh one.
      let ids: string[] = [];
      for (let i = 0; i < 30; i++) {
        const res = await request<{ items: { id: string }[]; serverTime: string }>(api.url, 'GET', '/sales');
        expect(res.status).toBe(200);
        ids = res.body.items.map((s) => s.id);
        if (ids.includes(upcoming.id) && !ids.includes(ended.id)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(ids).toContain(upcoming.id);
      expect(ids).not.toContain(ended.id);
    });
  });
});
