import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { SqlTx } from '../src/infra/prisma/sql-tx.js';
import { query } from './support/buy.js';
import { createTestDatabase, type TestDatabase } from './support/env.js';

/**
 * Postgres ending a session in the middle of a worker's transaction (what a
 * restart does to every session: 57P01): the transaction fails like any
 * other, and nothing escapes as an uncaught 'error' event (which ended the
 * worker in the soak with faults).
 */
describe('SqlTx: the session ended between two statements', () => {
  let db: TestDatabase;
  let pool: pg.Pool;

  beforeAll(async () => {
    db = await createTestDatabase('sqltx', false);
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
  });

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('the transaction rejects, the connection is not given back, the pool carries on', async () => {
    let ended: Promise<void> | undefined;
    pool.once('acquire', (client: pg.PoolClient) => {
      ended = new Promise((resolve) => client.once('end', () => resolve()));
    });
    const outcome = SqlTx.run(pool, async (tx) => {
      const [row] = await tx.query<{ pid: number }>('pid', 'SELECT pg_backend_pid() AS pid', []);
      // From another session, as pg_ctl stop -m fast does to every session.
      await query(db.url, 'SELECT pg_terminate_backend($1)', [row!.pid]);
      // The client has read the FATAL and its socket closed while no statement was running.
      await ended;
      return tx.query('one', 'SELECT 1 AS n', []);
    });
    await expect(outcome).rejects.toThrow(/terminat|not queryable/i);
    expect(pool.totalCount).toBe(0);
    await expect(SqlTx.run(pool, (tx) => tx.query('one', 'SELECT 1 AS n', []))).resolves.toEqual([{ n: 1 }]);
    // Bounded: without a listener the 'error' escapes and the transaction never settles.
  }, 20_000);
});
