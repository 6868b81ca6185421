import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Redis } from 'ioredis';
import { loadConfig, type AppConfig } from '../../src/infra/config/app-config.js';
import { applyMigrations, ensureDatabase } from '../../src/infra/prisma/migrator.js';

/** The server the suites create their own databases on (CI sets its own name). */
export const BASE_DATABASE_URL = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/flash_sale_test';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const JWT_SECRET = 'test-secret-test-secret-test-secret-0123';

export function uniqueId(tag: string): string {
  return `${tag.replace(/[^a-z0-9]/gi, '').toLowerCase()}_${randomBytes(4).toString('hex')}`;
}

export function databaseUrl(name: string, base = BASE_DATABASE_URL): string {
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl('postgres') });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A fresh database for one suite, migrated; drop() removes it. */
export async function createTestDatabase(tag: string, migrate = true): Promise<TestDatabase> {
  const name = `fs_t_${uniqueId(tag)}`;
  const url = databaseUrl(name);
  await ensureDatabase(url);
  if (migrate) await applyMigrations(url);
  return {
    url,
    drop: () => adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}

/** Env for an app under test: its own database, key prefix and queue prefix. */
export function testEnv(databaseUrlValue: string, overrides: Record<string, string> = {}): Record<string, string> {
  const id = uniqueId('t');
  return {
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrlValue,
    REDIS_URL,
    JWT_SECRET,
    REDIS_KEY_PREFIX: `fs_${id}`,
    QUEUE_PREFIX: `{fsq_${id}}`,
    LOG_LEVEL: 'error',
    LOG_REQUESTS: 'false',
    // No worker listener (suites run many workers at once) and no shutdown drain.
    WORKER_OPS_PORT: '0',
    SHUTDOWN_DRAIN_MS: '0',
    // Overload control measures but sheds nothing: a loaded test machine must not shed a suite's
    // requests (test/overload.e2e-spec.ts turns it on).
    OVERLOAD_CONTROL: 'false',
    // BUSY at BACKLOG_CAP exactly (suites test the cap); the pacing below it is tested on its own.
    BACKLOG_PACE_FROM_PERCENT: '100',
    ...overrides,
  };
}

export function testConfig(databaseUrlValue: string, overrides: Record<string, string> = {}): AppConfig {
  return loadConfig(testEnv(databaseUrlValue, overrides));
}

/** Deletes every key of a suite: its own keys and its BullMQ queues. */
export async function clearRedis(config: AppConfig): Promise<void> {
  const redis = new Redis(config.REDIS_URL);
  try {
    for (const pattern of [`${config.REDIS_KEY_PREFIX}:*`, `${config.QUEUE_PREFIX}:*`]) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await redis.del(...keys);
      } while (cursor !== '0');
    }
  } finally {
    redis.disconnect();
  }
}
