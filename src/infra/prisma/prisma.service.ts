import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient, type Prisma } from '../../generated/prisma/client.js';
import { DatabaseConfig } from '../config/app-config.js';
import { SqlTx } from './sql-tx.js';

/** A transaction's client: what repositories take to work inside a caller's transaction. */
export type Tx = Prisma.TransactionClient;

/** The Prisma client over the pg driver adapter (no native engine needed). */
@Injectable()
export class PrismaService extends PrismaClient implements OnApplicationShutdown {
  /** The connection pool under the adapter (its sizes are exported as metrics). */
  readonly pool: pg.Pool;

  constructor(@Inject(DatabaseConfig) config: DatabaseConfig) {
    const pool = new pg.Pool({
      connectionString: config.DATABASE_URL,
      max: 20,
      // A query that finds every connection taken waits at most this long, then fails (a hang otherwise).
      connectionTimeoutMillis: config.DATABASE_CONNECTION_TIMEOUT_MS,
    });
    super({ adapter: new PrismaPg(pool, { disposeExternalPool: true }) });
    this.pool = pool;
  }

  /** A transaction of named prepared statements on the same pool (see SqlTx): for the workers' hot batch statements only. */
  sqlTransaction<T>(work: (tx: SqlTx) => Promise<T>): Promise<T> {
    return SqlTx.run(this.pool, work);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.$disconnect();
  }
}
