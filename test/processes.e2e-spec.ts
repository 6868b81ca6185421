import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createConnection } from 'node:net';
import { Queue, QueueEvents } from 'bullmq';
import { ALL_QUEUES, JobName, QueueName } from '../src/infra/queues/queues.js';
import { clearRedis, createTestDatabase, testConfig, testEnv, type TestDatabase } from './support/env.js';
import { freePort, runNode } from './support/processes.js';

function portRefuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

describe('entry points (built JS, real processes)', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase('proc');
  });

  afterAll(async () => {
    await db.drop();
  });

  it.each([['main.js'], ['worker.js']])(
    '%s stops with a message naming a missing or malformed variable',
    async (script) => {
      const child = runNode(script, { REDIS_URL: 'redis://127.0.0.1:6379', JWT_SECRET: 'short', PORT: 'eighty' });
      expect(await child.exited).toBe(1);
      expect(child.output()).toMatch(/DATABASE_URL is missing/);
      expect(child.output()).toMatch(/JWT_SECRET must be at least 32 characters/);
      expect(child.output()).toMatch(/PORT /);
    },
  );

  it('the worker refuses an unknown queue name', async () => {
    const child = runNode('worker.js', testEnv(db.url, { WORKER_QUEUES: 'ops,bogus' }));
    expect(await child.exited).toBe(1);
    expect(child.output()).toMatch(/WORKER_QUEUES names unknown queue\(s\) bogus/);
  });

  it('the API serves /health and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const api = runNode('main.js', testEnv(db.url, { PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'log' }));
    try {
      await api.waitFor(/API listening/);
      const res = await fetch(`http://127.0.0.1:${port}/health`);
      expect(res.status).toBe(200);
    } finally {
      expect(await api.stop('SIGTERM')).toBe(0);
    }
    expect(api.output()).toMatch(/shut down cleanly/);
  });

  it('a worker opens no HTTP port, consumes only its queues and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const env = testEnv(db.url, { PORT: String(port), WORKER_QUEUES: QueueName.Ops, LOG_LEVEL: 'log' });
    const config = testConfig(db.url, env);
    const connection = { url: config.REDIS_URL };
    const worker = runNode('worker.js', env);
    const queues = ALL_QUEUES.map((name) => new Queue(name, { connection, prefix: config.QUEUE_PREFIX }));
    const events = new QueueEvents(QueueName.Ops, { connection, prefix: config.QUEUE_PREFIX });
    try {
      await worker.waitFor(/worker ready, consuming: ops\b/);
      expect(await portRefuses(port)).toBe(true);

      const ops = queues.find((q) => q.name === QueueName.Ops)!;
      const job = await ops.add(JobName.Ping, { sentAt: Date.now() });
      const result = (await job.waitUntilFinished(events, 10_000)) as { pid: number };
      expect(result.pid).toBe(worker.process.pid);

      for (const queue of queues) {
        expect([queue.name, await queue.getWorkersCount()]).toEqual([queue.name, queue.name === QueueName.Ops ? 1 : 0]);
      }
    } finally {
      expect(await worker.stop('SIGTERM')).toBe(0);
      await events.close();
      await Promise.all(queues.map((q) => q.close()));
      await clearRedis(config);
    }
    expect(worker.output()).toMatch(/shut down cleanly/);
  });
});
