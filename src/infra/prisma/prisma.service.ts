import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient, type Prisma } from '../../generated/prisma/client.js';
import { DatabaseConfig } from '../config/app-config.js';

/** A transaction's client: what repositories take to work inside a caller's transaction. */
export type Tx = Prisma.TransactionClient;

/** The Prisma client over the pg driver adapter (no native engine needed). */
@Injectable()
export class PrismaService extends PrismaClient implements OnApplicationShutdown {
  /** The connection pool under the adapter (its sizes are exported as metrics). */
  readonly pool: pg.Pool;

  constructor(@Inject(DatabaseConfig) config: DatabaseConfig) {
    const pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: 20 });
    super({ adapter: new PrismaPg(pool, { disposeExternalPool: true }) });
    this.pool = pool;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.$disconnect();
  }
}
