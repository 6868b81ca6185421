import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { loadConfig, type AppConfig } from '../src/infra/config/app-config.js';
import { buy, createActiveSale } from './support/buy.js';
import { createTestDatabase, testEnv, type TestDatabase } from './support/env.js';
import { startApi, type RunningApi } from './support/http.js';
import { OwnRedis } from './support/redis-server.js';
import { createUsers, type TestUser } from './support/users.js';

const PURCHASES = 1500;
const KILLS = 15;
const IN_FLIGHT = 30;

/**
 * Connection blips (CLIENT KILL of every client connection, 15 times during
 * 1,500 purchases, on the test's own Redis): the share of purchases answered
 * 503, refusing at once (REDIS_RECONNECT_WAIT_MS=0, as before) and waiting
 * up to 250 ms for the connection to be re-made (the default).
 */
describe('Redis connection blips: purchases wait briefly for the reconnect instead of failing', () => {
  const own = new OwnRedis();
  let db: TestDatabase;
  let config: AppConfig;
  let control: Redis;
  let users: TestUser[];
  let admin: TestUser;
  const apis: RunningApi[] = [];

  beforeAll(async () => {
    await own.start(['--appendonly', 'yes', '--appendfsync', 'everysec']);
    db = await createTestDatabase('blips');
    config = loadConfig(testEnv(db.url, { REDIS_URL: own.url, RATE_LIMIT_USER_PER_SECOND: '100000' }));
    const first = await startApi(config);
    apis.push(first);
    [admin] = await createUsers(first, db.url, 1, 'ADMIN');
    users = await createUsers(first, db.url, 100);
    control = new Redis(own.url, { maxRetriesPerRequest: null });
    control.on('error', () => undefined);
  }, 180_000);

  afterAll(async () => {
    for (const api of apis) await api.close();
    control?.disconnect();
    await own.dispose();
    await db.drop();
  });

  async function run(api: RunningApi): Promise<Record<string, number>> {
    const sale = await createActiveSale(api.url, admin, { stock: PURCHASES * 2, perUserLimit: 1000 });
    const answers: Record<string, number> = {};
    let sent = 0;
    let done = 0;
    const killer = (async () => {
      for (let k = 0; k < KILLS; k++) {
        const at = ((k + 0.5) * PURCHASES) / KILLS;
        while (done < at && done < PURCHASES) await new Promise((r) => setTimeout(r, 2));
        await control.call('CLIENT', 'KILL', 'TYPE', 'normal').catch(() => undefined);
      }
    })();
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (sent < PURCHASES) {
          const user = users[sent++ % users.length]!;
          const res = await buy(api.url, user, sale.id);
          const key = `${res.status}${res.body.code ? ` ${res.body.code}` : ''}`;
          answers[key] = (answers[key] ?? 0) + 1;
          done++;
        }
      }),
    );
    await killer;
    return answers;
  }

  it('the 503 share with and without the reconnect wait', async () => {
    const refuseAtOnce = await startApi({ ...config, REDIS_RECONNECT_WAIT_MS: 0 });
    apis.push(refuseAtOnce);
    const before = await run(refuseAtOnce);
    const after = await run(apis[0]!);
    const share = (a: Record<string, number>) =>
      Object.entries(a)
        .filter(([k]) => k.startsWith('503'))
        .reduce((n, [, v]) => n + v, 0) / PURCHASES;
    console.log(
      `${KILLS} connection kills during ${PURCHASES} purchases: ` +
        `refusing at once ${JSON.stringify(before)} (503: ${(share(before) * 100).toFixed(1)} %), ` +
        `waiting up to ${config.REDIS_RECONNECT_WAIT_MS} ms ${JSON.stringify(after)} (503: ${(share(after) * 100).toFixed(1)} %)`,
    );
    for (const a of [before, after]) expect(Object.keys(a).filter((k) => k.startsWith('500'))).toEqual([]);
    expect(share(after)).toBeLessThan(Math.max(share(before), 0.01));
  }, 300_000);
});
