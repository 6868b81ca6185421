import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestDatabase, testConfig, type TestDatabase } from './support/env.js';
import { request, startApi, type RunningApi } from './support/http.js';
import { OwnRedis } from './support/redis-server.js';

describe('GET /health', () => {
  let db: TestDatabase;
  const redis = new OwnRedis();
  let api: RunningApi;

  beforeAll(async () => {
    db = await createTestDatabase('health', false);
    await redis.start();
    api = await startApi(testConfig(db.url, { REDIS_URL: redis.url }));
  });

  afterAll(async () => {
    await api.close();
    await redis.dispose();
    await db.drop();
  });

  it('is 200 with both stores up', async () => {
    const res = await request(api.url, 'GET', '/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', postgres: 'up', redis: 'up' });
    expect(res.headers.get('x-request-id')).toBeTruthy();
  });

  it('is 503 naming Redis when Redis is down, and recovers when it is back', async () => {
    await redis.stop();
    const down = await request(api.url, 'GET', '/health');
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({
      statusCode: 503,
      code: 'UNHEALTHY',
      message: 'redis is down',
      redis: 'down',
      postgres: 'up',
    });

    await redis.start();
    // The client reconnects on its own; health follows without a restart.
    let res = await request(api.url, 'GET', '/health');
    for (let i = 0; i < 50 && res.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      res = await request(api.url, 'GET', '/health');
    }
    expect(res.status).toBe(200);
  });

  it('is 503 naming Postgres when Postgres cannot be reached', async () => {
    const other = await startApi(testConfig('postgresql://postgres@127.0.0.1:1/nowhere', { REDIS_URL: redis.url }));
    try {
      const res = await request(other.url, 'GET', '/health');
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ code: 'UNHEALTHY', message: 'postgres is down', postgres: 'down', redis: 'up' });
    } finally {
      await other.close();
    }
  });
});
