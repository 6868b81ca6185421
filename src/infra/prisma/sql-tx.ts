import pg from 'pg';

/**
 * A transaction on one connection of the pg pool under Prisma's driver
 * adapter, for the hot batch statements of the workers: each statement is a
 * named prepared statement (parsed and planned once per connection), its
 * parameters and rows handled by pg alone, without Prisma's runtime in
 * between (measured: ≈ 15 % of the worker's CPU on the orders pipeline).
 * Everything else keeps using Prisma.
 */
export class SqlTx {
  constructor(private readonly client: pg.PoolClient) {}

  /** Runs the statement `name` (one text per name, for good: it is prepared once per connection). */
  async query<R extends object>(name: string, text: string, values: unknown[]): Promise<R[]> {
    const result = await this.client.query<R>({ name: `fs_${name}`, text, values });
    return result.rows;
  }

  /** Runs the statement `name` and returns how many rows it changed. */
  async execute(name: string, text: string, values: unknown[]): Promise<number> {
    const result = await this.client.query({ name: `fs_${name}`, text, values });
    return result.rowCount ?? 0;
  }

  /** Runs `work` in a transaction on a connection of `pool`: committed when it resolves, rolled back when it throws. */
  static async run<T>(pool: pg.Pool, work: (tx: SqlTx) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    let broken: Error | undefined;
    // Postgres ending the session between two statements (a restart: 57P01) is an 'error' event of
    // the checked-out client, not of a query: unheard, an uncaught exception that ends the process.
    // The next statement fails instead, and the connection is not given back.
    const onError = (err: Error): void => {
      broken = err;
    };
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const result = await work(new SqlTx(client));
      await client.query('COMMIT');
      return result;
    } catch (err) {
      // A connection that cannot even roll back is not given back to the pool.
      await client.query('ROLLBACK').catch((rollback: unknown) => {
        broken = rollback instanceof Error ? rollback : new Error(String(rollback));
      });
      throw err;
    } finally {
      client.removeListener('error', onError);
      client.release(broken);
    }
  }
}

/** The SQLSTATE of an error Postgres answered through pg (e.g. `23505`), if it is one. */
export function pgSqlState(err: unknown): string | undefined {
  return err instanceof pg.DatabaseError ? err.code : undefined;
}
