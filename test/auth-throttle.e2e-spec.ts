import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import type { AppConfig } from '../src/infra/config/app-config.js';
import { query } from './support/buy.js';
import { clearRedis, createTestDatabase, testConfig, type TestDatabase } from './support/env.js';
import { request, startApi, type Answer, type RunningApi } from './support/http.js';

const PASSWORD = 'correct horse battery';

describe('login and registration throttles (Redis, shared by API copies)', () => {
  let db: TestDatabase;
  let config: AppConfig;
  let apis: RunningApi[];
  let redis: Redis;
  let n = 0;

  /** Requests go to the two API copies in turn. */
  const next = (): RunningApi => apis[n++ % apis.length]!;
  const login = (email: string, password: string, ip?: string): Promise<Answer> =>
    request(next().url, 'POST', '/auth/login', {
      body: { email, password },
      headers: ip ? { 'x-forwarded-for': ip } : {},
    });
  const register = (email: string, ip?: string): Promise<Answer> =>
    request(next().url, 'POST', '/auth/register', {
      body: { email, password: PASSWORD, phone: '+14155550123' },
      headers: ip ? { 'x-forwarded-for': ip } : {},
    });
  const statuses = (answers: Answer[]): number[] => answers.map((a) => a.status).sort();

  beforeAll(async () => {
    db = await createTestDatabase('throttle');
    config = testConfig(db.url, {
      LOGIN_LIMIT_PER_ACCOUNT: '3',
      LOGIN_LIMIT_PER_IP: '8',
      REGISTER_LIMIT_PER_IP: '3',
      // Each test speaks from its own addresses, given in X-Forwarded-For by the (trusted) loopback.
      TRUST_PROXY: 'loopback',
    });
    apis = [await startApi(config), await startApi(config)];
    redis = new Redis(config.REDIS_URL);
    for (const [i, email] of ['ann@example.test', 'bob@example.test', 'cy@example.test'].entries()) {
      expect((await register(email, `198.51.100.${i + 1}`)).status).toBe(201);
    }
  });

  afterAll(async () => {
    for (const api of apis) await api.close();
    redis.disconnect();
    await clearRedis(config);
    await db.drop();
  });

  it('per account: beyond the limit, 429 with Retry-After even with the right password; other accounts are not affected', async () => {
    const wrong = await Promise.all(
      Array.from({ length: 6 }, (_, i) => login('ann@example.test', 'wrong-password', `203.0.113.${i + 1}`)),
    );
    expect(statuses(wrong)).toEqual([401, 401, 401, 429, 429, 429]);
    const limited = wrong.find((a) => a.status === 429)!;
    expect(limited.body).toMatchObject({ statusCode: 429, code: 'RATE_LIMITED' });
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(config.LOGIN_ACCOUNT_WINDOW_SECONDS);

    expect((await login('ann@example.test', PASSWORD, '203.0.113.50')).status).toBe(429);
    expect((await login('bob@example.test', PASSWORD, '203.0.113.51')).status).toBe(200);
    // The count lives in Redis under a digest of the email, not the email.
    const keys = await redis.keys(`${config.REDIS_KEY_PREFIX}:auth:login:account:*`);
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.join()).not.toMatch(/ann|example/);
  });

  it('a successful login clears the account count', async () => {
    const ip = '203.0.113.60';
    expect((await login('cy@example.test', 'wrong-password', ip)).status).toBe(401);
    expect((await login('cy@example.test', 'wrong-password', ip)).status).toBe(401);
    expect((await login('cy@example.test', PASSWORD, ip)).status).toBe(200);
    const again = [];
    for (let i = 0; i < 4; i++) again.push((await login('cy@example.test', 'wrong-password', ip)).status);
    expect(again).toEqual([401, 401, 401, 429]);
  });

  it('per address: beyond the limit 429, whatever the account; another address is not affected', async () => {
    const answers = await Promise.all(
      Array.from({ length: 11 }, (_, i) => login(`nobody${i}@example.test`, 'wrong-password', '192.0.2.7')),
    );
    expect(statuses(answers)).toEqual([...Array<number>(8).fill(401), 429, 429, 429]);
    expect((await login('bob@example.test', PASSWORD, '192.0.2.8')).status).toBe(200);
  });

  it('registrations per address: beyond the limit 429, and the refused ones create nothing', async () => {
    const answers = await Promise.all(
      Array.from({ length: 5 }, (_, i) => register(`new${i}@example.test`, '192.0.2.20')),
    );
    expect(statuses(answers)).toEqual([201, 201, 201, 429, 429]);
    const rows = await query<{ n: string }>(db.url, `SELECT count(*) AS n FROM users WHERE email LIKE 'new%'`);
    expect(Number(rows[0]!.n)).toBe(3);
    expect((await register('other@example.test', '192.0.2.21')).status).toBe(201);
  });

  it('0 turns a limit off', async () => {
    const open = await startApi({ ...config, LOGIN_LIMIT_PER_ACCOUNT: 0, LOGIN_LIMIT_PER_IP: 0 });
    try {
      const answers = await Promise.all(
        Array.from({ length: 6 }, () =>
          request(open.url, 'POST', '/auth/login', { body: { email: 'bob@example.test', password: 'nope-nope' } }),
        ),
      );
      expect(statuses(answers)).toEqual(Array<number>(6).fill(401));
    } finally {
      await open.close();
    }
  });
});
