import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplicationContext } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { clearRedis, createTestDatabase, testConfig, testEnv, type TestDatabase } from './support/env.js';
import { request } from './support/http.js';
import { freePort, runNode, type Child } from './support/processes.js';
import { OwnRedis } from './support/redis-server.js';
import { startWorker } from './support/worker.js';

/** The JSON lines a process wrote (anything else is skipped). */
function jsonLines(output: string): Record<string, unknown>[] {
  return output.split('\n').flatMap((line) => {
    try {
      const value: unknown = JSON.parse(line);
      return value && typeof value === 'object' ? [value as Record<string, unknown>] : [];
    } catch {
      return [];
    }
  });
}

describe('ops in real processes: request logs, shutdown readiness, a worker’s probes', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase('opsproc');
  });

  afterAll(async () => {
    await db.drop();
  });

  describe('the built API', () => {
    let api: Child;
    let url: string;
    let env: Record<string, string>;

    beforeAll(async () => {
      const port = await freePort();
      env = testEnv(db.url, {
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_REQUESTS: 'true',
        LOG_REQUEST_CONTEXT: 'true',
        LOG_LEVEL: 'log',
        SHUTDOWN_DRAIN_MS: '1500',
      });
      url = `http://127.0.0.1:${port}`;
      api = runNode('main.js', env);
      await api.waitFor(/API listening/);
    });

    afterAll(async () => {
      await api.stop('SIGKILL');
      await clearRedis(testConfig(db.url, env));
    });

    it('writes JSON lines carrying the request id, with tokens and passwords redacted', async () => {
      // An admin token signed with the API's secret (the session route reads no user row).
      const jwt = new JwtService({ secret: env.JWT_SECRET, signOptions: { algorithm: 'HS256', expiresIn: 600 } });
      const token = jwt.sign({ sub: '7d2e4f60-1a3b-4c5d-8e9f-0a1b2c3d4e5f', role: 'ADMIN' });
      const requestId = 'ops-log-test-0001';
      const res = await request(url, 'POST', '/admin/session', { token, headers: { 'x-request-id': requestId } });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-request-id')).toBe(requestId);
      const login = await request(url, 'POST', '/auth/login', {
        body: { email: 'nobody@example.com', password: 'secret-password-123' },
        headers: { 'x-request-id': 'ops-log-test-0002' },
      });
      expect(login.status).toBe(401);

      // Lines are flushed at least once a second.
      await api.waitFor(/"reqId":"ops-log-test-0002".*"msg":"request"/);
      const lines = jsonLines(api.output()).filter((l) => l.reqId === requestId);
      expect(lines).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            context: 'AdminSession',
            msg: expect.stringContaining('opened a browser session'),
          }),
          expect.objectContaining({ msg: 'request', method: 'POST', url: '/admin/session', status: 200 }),
        ]),
      );
      expect(api.output()).not.toContain(token);
      expect(api.output()).not.toContain('secret-password-123');
    });

    it('on SIGTERM stops being ready first, keeps serving during the drain, then exits 0', async () => {
      expect((await request(url, 'GET', '/health/ready')).status).toBe(200);
      api.process.kill('SIGTERM');
      let ready = await request(url, 'GET', '/health/ready');
      for (let i = 0; i < 20 && ready.status === 200; i++) ready = await request(url, 'GET', '/health/ready');
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({ code: 'UNHEALTHY', message: 'shutting down', status: 'draining' });
      // Still alive and still answering while load balancers take it out.
      expect((await request(url, 'GET', '/health/live')).status).toBe(200);
      expect((await request(url, 'GET', '/sales')).status).toBe(200);
      expect(await api.exited).toBe(0);
    });
  });

  describe('a worker', () => {
    const redis = new OwnRedis();
    let worker: INestApplicationContext;
    let url: string;
    let port: number;
    const token = 'worker-metrics-token-0123456789';

    beforeAll(async () => {
      await redis.start();
      port = await freePort();
      url = `http://127.0.0.1:${port}`;
      worker = await startWorker(
        testConfig(db.url, {
          REDIS_URL: redis.url,
          WORKER_QUEUES: 'ops,orders',
          WORKER_OPS_PORT: String(port),
          HOST: '127.0.0.1',
          METRICS_TOKEN: token,
        }),
      );
    });

    afterAll(async () => {
      await worker.close();
      await redis.dispose();
    });

    it('serves its own /metrics on WORKER_OPS_PORT, behind METRICS_TOKEN', async () => {
      expect((await request(url, 'GET', '/metrics')).status).toBe(401);
      const res = await request<string>(url, 'GET', '/metrics', { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      expect(res.body).toMatch(/^flash_jobs_completed_total\{queue="orders"\} \d+$/m);
      expect(res.body).toContain('flash_pg_pool_connections{state="total"}');
      expect(res.body).toContain('nodejs_eventloop_lag_seconds');
    });

    it('a second worker whose WORKER_OPS_PORT is taken still starts and consumes (without a listener)', async () => {
      const second = await startWorker(
        testConfig(db.url, {
          REDIS_URL: redis.url,
          WORKER_QUEUES: 'ops',
          WORKER_OPS_PORT: String(port),
          HOST: '127.0.0.1',
        }),
      );
      await second.close();
      expect((await request(url, 'GET', '/health/live')).status).toBe(200);
    });

    it('is not ready while it has lost Redis, stays live, and is ready again when Redis is back', async () => {
      expect(await request(url, 'GET', '/health/ready')).toMatchObject({
        status: 200,
        body: { postgres: 'up', redis: 'up' },
      });
      await redis.stop();
      const down = await request(url, 'GET', '/health/ready');
      expect(down.status).toBe(503);
      expect(down.body).toMatchObject({ code: 'UNHEALTHY', message: 'redis is down', redis: 'down', postgres: 'up' });
      expect((await request(url, 'GET', '/health/live')).status).toBe(200);
      await redis.start();
      let back = await request(url, 'GET', '/health/ready');
      for (let i = 0; i < 50 && back.status !== 200; i++) {
        await new Promise((r) => setTimeout(r, 100));
        back = await request(url, 'GET', '/health/ready');
      }
      expect(back.status).toBe(200);
    });
  });
});
