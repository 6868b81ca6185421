import { Inject, Injectable } from '@nestjs/common';
import { Prisma, type Sale } from '../generated/prisma/client.js';
import { PrismaService, type Tx } from '../infra/prisma/prisma.service.js';

export interface NewSale {
  name: string;
  sku: string;
  price: number;
  stock: number;
  perUserLimit: number;
  startsAt: Date;
  endsAt: Date;
  paymentWindowSeconds?: number | null;
  gateBuckets?: number;
  waitingRoom?: Prisma.InputJsonValue;
}

/** Every read and write of `sales` (its stock of record is the inventory module's). */
@Injectable()
export class SalesRepository {
  constructor(@Inject(PrismaService) private readonly prisma: PrismaService) {}

  /** Runs work in a transaction holding the sale's row lock (admin changes and preheat serialize). */
  async withLockedSale<T>(id: string, work: (sale: Sale, tx: Tx) => Promise<T>): Promise<T | null> {
    // NO KEY UPDATE: serializes admin changes, preheat and repairs of the sale
    // without blocking the orders being inserted meanwhile (their foreign key
    // takes KEY SHARE on this row, which FOR UPDATE would block).
    return this.prisma.$transaction(
      async (tx) => {
        const rows = await tx.$queryRaw<
          { id: string }[]
        >`SELECT id FROM sales WHERE id = ${id}::uuid FOR NO KEY UPDATE`;
        const sale = rows.length === 0 ? null : await this.find(id, tx);
        return sale ? work(sale, tx) : null;
      },
      { timeout: 30_000 },
    );
  }

  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(work, { timeout: 30_000 });
  }

  create(tx: Tx, data: NewSale): Promise<Sale> {
    return tx.sale.create({ data });
  }

  find(id: string, tx: Tx = this.prisma): Promise<Sale | null> {
    return tx.sale.findUnique({ where: { id } });
  }

  async page(page: number, pageSize: number): Promise<{ items: Sale[]; total: number }> {
    const [items, total] = await Promise.all([
      this.prisma.sale.findMany({
        orderBy: [{ startsAt: 'desc' }, { id: 'asc' }],
        skip: (page - 1) * pageSize,
        take: pageSize,
      }),
      this.prisma.sale.count(),
    ]);
    return { items, total };
  }

  /** Sales a shopper can still buy or wait for, soonest first. */
  openSales(now: Date, limit = 100): Promise<Sale[]> {
    return this.prisma.sale.findMany({
      where: { endsAt: { gt: now }, OR: [{ endedAt: null }, { endedAt: { gt: now } }] },
      orderBy: [{ startsAt: 'asc' }, { id: 'asc' }],
      take: limit,
    });
  }

  /** Ids of sales that stopped selling between `since` and `now` (their orders may still be open). */
  async endedBetween(since: Date, now: Date, limit = 100): Promise<string[]> {
    const rows = await this.prisma.$queryRaw<{ id: string }[]>`
      SELECT id FROM sales
      WHERE LEAST(ends_at, COALESCE(ended_at, ends_at)) BETWEEN ${since} AND ${now}
      ORDER BY ends_at DESC LIMIT ${limit}`;
    return rows.map((r) => r.id);
  }

  /** Sales open now, starting within `aheadMs`, or ended within `afterMs`; soonest first. */
  watched(aheadMs: number, afterMs: number, limit = 20): Promise<Sale[]> {
    const now = Date.now();
    const since = new Date(now - afterMs);
    return this.prisma.sale.findMany({
      where: {
        startsAt: { lte: new Date(now + aheadMs) },
        endsAt: { gte: since },
        OR: [{ endedAt: null }, { endedAt: { gte: since } }],
      },
      orderBy: [{ startsAt: 'asc' }, { id: 'asc' }],
      take: limit,
    });
  }

  /** Sales with a waiting room that open within `aheadMs` or ended within `afterMs` (their rooms are live). */
  rooms(aheadMs: number, afterMs: number, limit = 500): Promise<Sale[]> {
    const now = Date.now();
    return this.prisma.sale.findMany({
      where: {
        waitingRoom: { not: Prisma.DbNull },
        startsAt: { lte: new Date(now + aheadMs) },
        endsAt: { gte: new Date(now - afterMs) },
      },
      orderBy: [{ startsAt: 'asc' }, { id: 'asc' }],
      take: limit,
    });
  }

  update(tx: Tx, id: string, data: Prisma.SaleUpdateInput): Promise<Sale> {
    return tx.sale.update({ where: { id }, data });
  }

  async delete(tx: Tx, id: string): Promise<void> {
    await tx.sale.delete({ where: { id } });
  }
}
