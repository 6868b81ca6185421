import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { AppConfig } from '../src/infra/config/app-config.js';
import type { QueueView } from '../src/room/room.service.js';
import { RoomStore } from '../src/room/room.store.js';
import { createActiveSale } from './support/buy.js';
import { createTestDatabase, testConfig, testEnv, type TestDatabase } from './support/env.js';
import { request, startApi, type RunningApi } from './support/http.js';
import { runNode, type Child } from './support/processes.js';
import { OwnRedis } from './support/redis-server.js';
import { createUsers, type TestUser } from './support/users.js';
import { waitFor } from './support/wait-for.js';

jest.setTimeout(120_000);

type Queue = QueueView & { code?: string };

/**
 * The waiting room when things break, on a Redis of the test's own: Redis
 * down, Redis restarted empty, and an admitter (a worker process) killed
 * with SIGKILL while another takes over.
 */
describe('waiting room faults', () => {
  const redis = new OwnRedis();
  let db: TestDatabase;
  let config: AppConfig;
  let env: Record<string, string>;
  let api: RunningApi;
  let admin: TestUser;
  let users: TestUser[];
  const children: Child[] = [];

  beforeAll(async () => {
    await redis.start();
    db = await createTestDatabase('roomfaults');
    env = testEnv(db.url, { REDIS_URL: redis.url, ROOM_TICK_MS: '50', ROOM_LEASE_MS: '1500' });
    config = testConfig(db.url, env);
    api = await startApi(config);
    [admin] = await createUsers(api, db.url, 1, 'ADMIN');
    users = await createUsers(api, db.url, 12);
  });

  afterAll(async () => {
    for (const child of children) await child.stop('SIGKILL');
    await api?.close();
    await redis.dispose();
    await db?.drop();
  });

  const join = (user: TestUser, saleId: string) =>
    request<Queue>(api.url, 'POST', `/sales/${saleId}/queue`, { token: user.token });
  const poll = (user: TestUser, saleId: string) =>
    request<Queue>(api.url, 'GET', `/sales/${saleId}/queue`, { token: user.token });
  const admitted = (user: TestUser, saleId: string) =>
    waitFor(
      `${user.email} admitted`,
      async () => (await poll(user, saleId)).body,
      (b) => b.state === 'admitted',
    );

  it('an admitter killed with SIGKILL: another worker takes the room over within a few seconds, admitting nobody twice', async () => {
    const sale = await createActiveSale(api.url, admin, {
      waitingRoom: { admitPerSecond: 2, maxActive: 1000, claimSeconds: 60 },
    });
    for (const u of users.slice(0, 8)) expect((await join(u, sale.id)).status).toBe(200);
    const workerEnv = { ...env, WORKER_QUEUES: 'promotions', LOG_LEVEL: 'log' };
    const first = runNode('worker.js', workerEnv);
    children.push(first);
    await first.waitFor(/worker ready/, 60_000);
    await admitted(users[0]!, sale.id);
    const second = runNode('worker.js', workerEnv);
    children.push(second);
    await second.waitFor(/worker ready/, 60_000);
    expect(await first.stop('SIGKILL')).toBeNull();
    const killedAt = Date.now();
    // The room goes on: everyone is let in by the second worker, at the rate, each once.
    for (const u of users.slice(1, 8)) await admitted(u, sale.id);
    const seconds = (Date.now() - killedAt) / 1000;
    const store = api.app.get(RoomStore);
    const stats = await store.stats(sale.id);
    expect(stats.counters.admitted).toBe(8);
    expect(stats.active).toBe(8);
    // 7 shoppers at 2 a second take ≥ 3 s; a takeover within the lease (1.5 s) keeps it well under 10 s.
    expect(seconds).toBeLessThan(10);
    await second.stop('SIGKILL');
  });

  it('Redis down: 503 UNAVAILABLE with Retry-After on the room routes, never 500; restarted empty: joining works again', async () => {
    const sale = await createActiveSale(api.url, admin, {
      waitingRoom: { admitPerSecond: 10, maxActive: 1000, claimSeconds: 60 },
    });
    const u = users[8]!;
    expect((await join(u, sale.id)).body.state).toBe('waiting');
    await redis.stop();
    for (const answer of [await join(u, sale.id), await poll(u, sale.id)]) {
      expect([answer.status, answer.body.code]).toEqual([503, 'UNAVAILABLE']);
      expect(Number(answer.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    const leave = await request<Queue>(api.url, 'DELETE', `/sales/${sale.id}/queue`, { token: u.token });
    expect(leave.status).toBe(503);
    await redis.start();
    // Restarted empty: the queue is gone; the shopper is told so and joins again.
    const back = await waitFor(
      'the API reconnected',
      () => poll(u, sale.id),
      (a) => a.status === 200,
    );
    expect(back.body.state).toBe('left');
    const again = await join(u, sale.id);
    expect([again.status, again.body.state]).toEqual([200, 'waiting']);
  });
});
