import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplicationContext } from '@nestjs/common';
import { query } from './support/buy.js';
import { clearRedis, createTestDatabase, JWT_SECRET, testConfig, type TestDatabase } from './support/env.js';
import { startApi, type RunningApi } from './support/http.js';
import { runNode } from './support/processes.js';
import { startWorker } from './support/worker.js';

describe('npm run demo (dist/demo/demo.js against a running API and worker)', () => {
  let db: TestDatabase;
  let api: RunningApi;
  let worker: INestApplicationContext;
  let config: ReturnType<typeof testConfig>;

  beforeAll(async () => {
    db = await createTestDatabase('demo');
    config = testConfig(db.url, { SMTP_URL: 'smtp://127.0.0.1:1' });
    api = await startApi(config);
    worker = await startWorker(config);
  });

  afterAll(async () => {
    await api.close();
    await worker.close();
    await clearRedis(config);
    await db.drop();
  });

  it('creates an admin, a shopper and a sale with a waiting room, runs a spike through the room with payments and cancellations, and checks the invariants', async () => {
    const child = runNode(
      'demo/demo.js',
      { DATABASE_URL: db.url, JWT_SECRET },
      { args: [`--url=${api.url}`, '--shoppers=150', '--stock=40', '--start-in=2', '--spike-seconds=2'] },
    );
    expect(await child.exited).toBe(0);
    const out = child.output();
    expect(out).toMatch(/admin: +admin-\w+@demo\.flash-sale\.local +password: \S+/);
    expect(out).toMatch(/shopper: +shopper-\w+@demo\.flash-sale\.local +password: \S+/);
    expect(out).toMatch(new RegExp(`shop page:  ${api.url}/shop/\\?sale=[0-9a-f-]{36}`));
    expect(out).toContain(`live view:  ${api.url}/admin/live`);
    expect(out).toContain(`queues:     ${api.url}/admin/queues`);
    expect(out).toMatch(/mail UI: +http:\/\/localhost:8025/);
    for (const check of [
      'every 202 became an order',
      'no oversell',
      'no shopper above the limit',
      'no purchase without an admission',
      'no admission used twice',
      'gate remaining + live orders = stock',
      'no 5xx answer',
    ]) {
      expect(out).toContain(`✓ ${check}`);
    }
    expect(out).not.toContain('✗');
    const [orders] = await query<{ n: string; paid: string; cancelled: string }>(
      db.url,
      `SELECT count(*) AS n, count(*) FILTER (WHERE status = 'PAID') AS paid, count(*) FILTER (WHERE status = 'CANCELLED') AS cancelled FROM orders`,
    );
    expect(Number(orders!.n)).toBe(40);
    expect(Number(orders!.paid)).toBeGreaterThan(0);
    expect(Number(orders!.cancelled)).toBeGreaterThan(0);
    const [admins] = await query<{ n: string }>(db.url, `SELECT count(*) AS n FROM users WHERE role = 'ADMIN'`);
    expect(Number(admins!.n)).toBe(1);
    // The crowd went through the room: every order came with an admission, joiners waited for their turn.
    expect(out).toMatch(/queue: admitted \d+/);
    expect(out).toMatch(/ADMISSION_REQUIRED \d+/);
    expect(out).toMatch(/bought 40/);
  });
});
