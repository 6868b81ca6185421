import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PasswordHasher } from '../src/auth/password-hasher.js';
import type { AppConfig } from '../src/infra/config/app-config.js';
import { clearRedis, createTestDatabase, testConfig, type TestDatabase } from './support/env.js';
import { request, startApi, type Answer, type RunningApi } from './support/http.js';

const LINE = 8;

/**
 * A login flood with the throttles off (every attempt would cost a scrypt):
 * the API hashes one password at a time (PASSWORD_HASH_CONCURRENCY=1), keeps
 * at most PASSWORD_HASH_QUEUE waiting and refuses the rest at once with 503
 * BUSY, so the flood cannot take more than one core. What that does to
 * purchase latency is measured by `npm run bench:login-flood` (docs/benchmarks.md).
 */
describe('a login flood: one password hash at a time, the excess refused at once', () => {
  let db: TestDatabase;
  let config: AppConfig;
  let api: RunningApi;

  beforeAll(async () => {
    db = await createTestDatabase('flood');
    config = testConfig(db.url, {
      LOGIN_LIMIT_PER_ACCOUNT: '0',
      LOGIN_LIMIT_PER_IP: '0',
      PASSWORD_HASH_CONCURRENCY: '1',
      PASSWORD_HASH_QUEUE: String(LINE),
    });
    api = await startApi(config);
    const reg = await request(api.url, 'POST', '/auth/register', {
      body: { email: 'target@flood.test', password: 'right-password', phone: '+14155550123' },
    });
    expect(reg.status).toBe(201);
  });

  afterAll(async () => {
    await api.close();
    await clearRedis(config);
    await db.drop();
  });

  it('200 logins at once: never more than one hash running or LINE waiting; 401 or 503 BUSY, never a 500', async () => {
    const hasher = api.app.get(PasswordHasher);
    let peakRunning = 0;
    let peakWaiting = 0;
    const sampler = setInterval(() => {
      peakRunning = Math.max(peakRunning, hasher.running);
      peakWaiting = Math.max(peakWaiting, hasher.waiting);
    }, 1);
    let answers: Answer<{ code?: string }>[];
    try {
      answers = await Promise.all(
        Array.from({ length: 200 }, () =>
          request<{ code?: string }>(api.url, 'POST', '/auth/login', {
            body: { email: 'target@flood.test', password: 'wrong-password' },
          }),
        ),
      );
    } finally {
      clearInterval(sampler);
    }
    const byAnswer = new Map<string, number>();
    for (const a of answers)
      byAnswer.set(`${a.status} ${a.body.code}`, (byAnswer.get(`${a.status} ${a.body.code}`) ?? 0) + 1);
    expect([...byAnswer.keys()].sort()).toEqual(['401 INVALID_CREDENTIALS', '503 BUSY']);
    expect(byAnswer.get('401 INVALID_CREDENTIALS')).toBeGreaterThanOrEqual(1 + LINE);
    expect(answers.find((a) => a.status === 503)!.headers.get('retry-after')).toBe(String(config.RETRY_AFTER_SECONDS));
    expect([peakRunning, peakWaiting <= LINE]).toEqual([1, true]);
    expect([hasher.running, hasher.waiting]).toEqual([0, 0]);
    // Nothing left waiting: the right password gets in at once.
    const ok = await request(api.url, 'POST', '/auth/login', {
      body: { email: 'target@flood.test', password: 'right-password' },
    });
    expect(ok.status).toBe(200);
  });
});
