import type { INestApplicationContext } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { AppConfig } from '../src/infra/config/app-config.js';
import { closeWithin } from '../src/infra/lifecycle.js';
import type { QueueView } from '../src/room/room.service.js';
import { RoomStore } from '../src/room/room.store.js';
import { createActiveSale } from './support/buy.js';
import { createTestDatabase, testConfig, type TestDatabase } from './support/env.js';
import { request, startApi, type RunningApi } from './support/http.js';
import { OwnRedis } from './support/redis-server.js';
import { createUsers, type TestUser } from './support/users.js';
import { waitFor } from './support/wait-for.js';
import { startWorker } from './support/worker.js';

jest.setTimeout(120_000);

type Queue = QueueView & { code?: string };

/**
 * The admitter across a Redis restart that keeps its data (append-only file,
 * fsync on every write), on a redis-server of the test's own (its own port
 * and folder; the shared server is never touched): while Redis is down its
 * turns fail; once it is back it goes on where the room stood, letting
 * everyone in once (no admission issued twice, none re-issued).
 */
describe('waiting room: the admitter across a Redis restart', () => {
  const redis = new OwnRedis();
  const persistent = ['--appendonly', 'yes', '--appendfsync', 'always'];
  let db: TestDatabase;
  let config: AppConfig;
  let api: RunningApi;
  let worker: INestApplicationContext;
  let admin: TestUser;
  let users: TestUser[];

  beforeAll(async () => {
    await redis.start(persistent);
    db = await createTestDatabase('roomrestart');
    config = testConfig(db.url, { REDIS_URL: redis.url, ROOM_TICK_MS: '50', ROOM_LEASE_MS: '1500' });
    api = await startApi(config);
    worker = await startWorker({ ...config, WORKER_QUEUES: 'promotions' });
    [admin] = await createUsers(api, db.url, 1, 'ADMIN');
    users = await createUsers(api, db.url, 10);
  });

  afterAll(async () => {
    if (worker) await worker.close();
    if (api) await closeWithin(api.close(), 15_000);
    await redis.dispose();
    await db?.drop();
  });

  const join = (user: TestUser, saleId: string) =>
    request<Queue>(api.url, 'POST', `/sales/${saleId}/queue`, { token: user.token });
  const poll = (user: TestUser, saleId: string) =>
    request<Queue>(api.url, 'GET', `/sales/${saleId}/queue`, { token: user.token });

  it('Redis killed and restarted with its data: the admitter resumes, everyone let in once, no admission re-issued', async () => {
    const sale = await createActiveSale(api.url, admin, {
      stock: 100,
      waitingRoom: { admitPerSecond: 3, maxActive: 1000, claimSeconds: 600 },
    });
    for (const u of users) expect((await join(u, sale.id)).body.state).toBe('waiting');
    const store = api.app.get(RoomStore);
    const k = store.keys(sale.id);
    const [queueKey, issuedKey, statsKey] = [k[1]!, k[4]!, k[7]!];
    const admittedCount = async () => Number((await store.redis.hget(statsKey, 'admitted')) ?? 0);
    await waitFor('two let in before the outage', admittedCount, (n) => n >= 2);

    await redis.stop('SIGKILL');
    const workerStore = worker.get(RoomStore);
    await waitFor(
      'the worker lost Redis',
      async () => workerStore.redis.status,
      (s) => s !== 'ready',
      10_000,
    );
    await redis.start(persistent);
    await waitFor(
      'the API back on Redis',
      async () => store.redis.status,
      (s) => s === 'ready',
      20_000,
    );
    // What the room held when Redis died (every write was on disk): these admissions must stay as issued.
    // Read together (MULTI): the admitter may already be letting the next one in.
    const read = await store.redis.multi().hgetall(issuedKey).hget(statsKey, 'admitted').exec();
    const before = read![0]![1] as Record<string, string>;
    const beforeCount = Number(read![1]![1]);
    expect(Object.keys(before)).toHaveLength(beforeCount);
    expect(beforeCount).toBeGreaterThanOrEqual(2);

    // The admitter goes on: the rest are let in (3 a second), each once.
    await waitFor(
      'everyone let in after the restart',
      async () => [await admittedCount(), await store.redis.zcard(queueKey)],
      ([n, waiting]) => n === users.length && waiting === 0,
      30_000,
    );
    const after = await store.redis.hgetall(issuedKey);
    expect(Object.keys(after).sort()).toEqual(users.map((u) => u.id).sort());
    for (const [user, issuedAt] of Object.entries(before))
      expect({ user, issuedAt: after[user] }).toEqual({ user, issuedAt });
    const stats = await store.stats(sale.id);
    expect(stats).toMatchObject({ waiting: 0, active: users.length });
    expect(stats.counters.admitted).toBe(users.length);
    // Every shopper sees their admission.
    for (const u of users) expect((await poll(u, sale.id)).body.state).toBe('admitted');
  });
});
