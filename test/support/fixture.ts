import type { INestApplicationContext } from '@nestjs/common';
import type { AppConfig } from '../../src/infra/config/app-config.js';
import { clearRedis, createTestDatabase, testConfig, type TestDatabase } from './env.js';
import { startApi, type RunningApi } from './http.js';
import { createUsers, type TestUser } from './users.js';
import { startWorker } from './worker.js';

/** What most suites start with: their own database and key prefixes, the API in this process, an admin and shoppers. */
export interface ApiFixture {
  db: TestDatabase;
  config: AppConfig;
  api: RunningApi;
  admin: TestUser;
  users: TestUser[];
  /** Present when asked for (`worker: true`). */
  worker?: INestApplicationContext;
  /** Stops the API (and the worker), deletes the suite's Redis keys and drops its database. */
  close(): Promise<void>;
}

export interface FixtureOptions {
  /** Env overrides (strings, as in .env). */
  env?: Record<string, string>;
  /** Shoppers to create (default 0). */
  users?: number;
  /** Also run a worker in this process: true consumes every queue, a string is its WORKER_QUEUES. */
  worker?: boolean | string;
}

/** Creates the suite's database, config, API, admin and shoppers; `close()` in afterAll undoes it all. */
export async function startFixture(tag: string, options: FixtureOptions = {}): Promise<ApiFixture> {
  const db = await createTestDatabase(tag);
  const config = testConfig(db.url, options.env);
  const api = await startApi(config);
  const worker =
    typeof options.worker === 'string'
      ? await startWorker({ ...config, WORKER_QUEUES: options.worker })
      : options.worker
        ? await startWorker(config)
        : undefined;
  const [admin] = await createUsers(api, db.url, 1, 'ADMIN');
  const users = options.users ? await createUsers(api, db.url, options.users) : [];
  return {
    db,
    config,
    api,
    admin: admin!,
    users,
    worker,
    async close() {
      await api.close();
      await worker?.close();
      await clearRedis(config);
      await db.drop();
    },
  };
}
