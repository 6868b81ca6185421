import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AppConfig } from '../src/infra/config/app-config.js';
import { buy, createActiveSale } from './support/buy.js';
import { clearRedis, createTestDatabase, testConfig, type TestDatabase } from './support/env.js';
import { startApi, type RunningApi } from './support/http.js';
import { createUsers, type TestUser } from './support/users.js';

describe('purchase rate limits (429 RATE_LIMITED)', () => {
  let db: TestDatabase;
  let config: AppConfig;
  let api: RunningApi;
  let admin: TestUser;
  let users: TestUser[];

  beforeAll(async () => {
    db = await createTestDatabase('ratelimit');
    config = testConfig(db.url, { RATE_LIMIT_USER_PER_SECOND: '3' });
    api = await startApi(config);
    [admin] = await createUsers(api, db.url, 1, 'ADMIN');
    users = await createUsers(api, db.url, 20);
  });

  afterAll(async () => {
    await api.close();
    await clearRedis(config);
    await db.drop();
  });

  it('per user: attempts beyond the limit within a second get 429 with Retry-After, others are unaffected', async () => {
    const sale = await createActiveSale(api.url, admin, { stock: 100, perUserLimit: 100 });
    // Fired together so they fall in the same second (the window is per second).
    const burst = await Promise.all(Array.from({ length: 10 }, () => buy(api.url, users[0]!, sale.id)));
    const limited = burst.filter((a) => a.status === 429);
    expect(limited.length).toBeGreaterThanOrEqual(4); // at most 3 per second, 10 shots span at most 2 seconds
    expect(limited[0]!.body).toMatchObject({ code: 'RATE_LIMITED' });
    expect(limited[0]!.headers.get('retry-after')).toBe('1');
    expect((await buy(api.url, users[1]!, sale.id)).status).toBe(202);
  });

  it('per IP: off by default, and when on, one address is limited whatever the user', async () => {
    const sale = await createActiveSale(api.url, admin, { stock: 100 });
    const many = await Promise.all(users.slice(2, 12).map((u) => buy(api.url, u, sale.id)));
    expect(many.every((a) => a.status === 202)).toBe(true); // 10 users from 127.0.0.1, no IP limit

    const strict = await startApi({ ...config, RATE_LIMIT_IP_PER_SECOND: 2 } as AppConfig);
    try {
      const other = await createActiveSale(strict.url, admin, { stock: 100 });
      const shots = await Promise.all(users.slice(12, 20).map((u) => buy(strict.url, u, other.id)));
      expect(shots.filter((a) => a.status === 429).length).toBeGreaterThanOrEqual(4);
      expect(shots.filter((a) => a.status === 202).length).toBeLessThanOrEqual(4);
    } finally {
      await strict.close();
    }
  });
});
