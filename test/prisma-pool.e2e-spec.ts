import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type pg from 'pg';
import { DatabaseConfig } from '../src/infra/config/app-config.js';
import { PrismaService } from '../src/infra/prisma/prisma.service.js';
import { createTestDatabase, type TestDatabase } from './support/env.js';

/**
 * Every connection of the pool taken (what a transaction that waits for a
 * second connection does once enough of them run at once): a query waits
 * DATABASE_CONNECTION_TIMEOUT_MS for one, then fails, instead of hanging.
 */
describe('PrismaService: a query finding every pool connection taken', () => {
  const TIMEOUT_MS = 400;
  let db: TestDatabase;
  let prisma: PrismaService;
  const held: pg.PoolClient[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('pgpool', false);
    prisma = new PrismaService(
      Object.assign(new DatabaseConfig(), { DATABASE_URL: db.url, DATABASE_CONNECTION_TIMEOUT_MS: TIMEOUT_MS }),
    );
  });

  afterAll(async () => {
    for (const client of held.splice(0)) client.release();
    await prisma?.$disconnect();
    await db?.drop();
  });

  it('fails after the timeout, and runs again once a connection is free', async () => {
    await expect(prisma.$queryRaw`SELECT 1 AS n`).resolves.toEqual([{ n: 1 }]);
    const max = prisma.pool.options.max!;
    for (let i = held.length; i < max; i++) held.push(await prisma.pool.connect());
    expect(prisma.pool.idleCount).toBe(0);

    const started = Date.now();
    const waited = prisma.$queryRaw`SELECT 2 AS n`.then(
      () => 'answered',
      (err: unknown) => String(err),
    );
    // Bounded: without the timeout the query waits for a connection forever.
    const outcome = await Promise.race([
      waited,
      new Promise<string>((resolve) => setTimeout(() => resolve('still waiting'), 10 * TIMEOUT_MS).unref()),
    ]);
    const elapsed = Date.now() - started;
    expect(outcome).toMatch(/timeout/i);
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(elapsed).toBeLessThan(5 * TIMEOUT_MS);

    held.pop()!.release();
    await expect(prisma.$queryRaw`SELECT 3 AS n`).resolves.toEqual([{ n: 3 }]);
  }, 20_000);
});
