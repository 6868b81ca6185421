import { Inject, Injectable } from '@nestjs/common';
import type { Prisma, Sale } from '../generated/prisma/client.js';
import type { OrdersOfRecord } from '../gate/gate-rebuild.js';
import { PrismaService, type Tx } from '../infra/prisma/prisma.service.js';

export type SaleWithStock = Sale & { available: number };

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
}

@Injectable()
export class SalesRepository {
  constructor(@Inject(PrismaService) private readonly prisma: PrismaService) {}

  /** Runs work in a transaction holding the sale's row lock (admin changes and preheat serialize). */
  async withLockedSale<T>(id: string, work: (sale: SaleWithStock, tx: Tx) => Promise<T>): Promise<T | null> {
    // NO KEY UPDATE: serializes admin changes, preheat and repairs of the sale
    // without blocking the orders being inserted meanwhile (their foreign key
    // takes KEY SHARE on this row, which FOR UPDATE would block).
    return this.prisma.$transaction(
      async (tx) => {
        const rows = await tx.$queryRaw<
          { id: string }[]
        >`SELECT id FROM sales WHERE id = ${id}::uuid FOR NO KEY UPDATE`;
        if (rows.length === 0) return null;
        const sale = await this.findWithStock(id, tx);
        return sale ? work(sale, tx) : null;
      },
      { timeout: 30_000 },
    );
  }

  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(work, { timeout: 30_000 });
  }

  /** The sale's row (its stock of record is the inventory module's: StockOfRecord.open). */
  create(tx: Tx, data: NewSale): Promise<Sale> {
    return tx.sale.create({ data });
  }

  async findWithStock(id: string, tx: Tx = this.prisma): Promise<SaleWithStock | null> {
    const sale = await tx.sale.findUnique({ where: { id }, include: { inventory: true } });
    if (!sale) return null;
    const { inventory, ...rest } = sale;
    return { ...rest, available: inventory?.available ?? 0 };
  }

  async page(page: number, pageSize: number): Promise<{ items: SaleWithStock[]; total: number }> {
    const [rows, total] = await Promise.all([
      this.prisma.sale.findMany({
        orderBy: [{ startsAt: 'desc' }, { id: 'asc' }],
        skip: (page - 1) * pageSize,
        take: pageSize,
        include: { inventory: true },
      }),
      this.prisma.sale.count(),
    ]);
    return { items: rows.map(({ inventory, ...s }) => ({ ...s, available: inventory?.available ?? 0 })), total };
  }

  /** Sales a shopper can still buy or wait for, soonest first. */
  async openSales(now: Date, limit = 100): Promise<SaleWithStock[]> {
    const rows = await this.prisma.sale.findMany({
      where: { endsAt: { gt: now }, OR: [{ endedAt: null }, { endedAt: { gt: now } }] },
      orderBy: [{ startsAt: 'asc' }, { id: 'asc' }],
      take: limit,
      include: { inventory: true },
    });
    return rows.map(({ inventory, ...s }) => ({ ...s, available: inventory?.available ?? 0 }));
  }

  /** Ids of sales that stopped selling between `since` and `now` (their orders may still be open). */
  async endedBetween(since: Date, now: Date, limit = 100): Promise<string[]> {
    const rows = await this.prisma.$queryRaw<{ id: string }[]>`
      SELECT id FROM sales
      WHERE LEAST(ends_at, COALESCE(ended_at, ends_at)) BETWEEN ${since} AND ${now}
      ORDER BY ends_at DESC LIMIT ${limit}`;
    return rows.map((r) => r.id);
  }

  update(tx: Tx, id: string, data: Prisma.SaleUpdateInput): Promise<Sale> {
    return tx.sale.update({ where: { id }, data });
  }

  /** What the gate must hold for this sale: its live orders and the ids of the dead ones (one read). */
  async ordersOfRecord(saleId: string): Promise<OrdersOfRecord> {
    const rows = await this.prisma.$queryRaw<
      {
        id: string;
        user_id: string;
        quantity: number;
        status: string;
        payment_deadline: Date | null;
        still_reserved: boolean;
      }[]
    >`
      SELECT o.id, o.user_id::text AS user_id, o.quantity, o.status::text AS status, o.payment_deadline,
             (r.status IS NOT NULL AND r.status::text = 'RESERVED') AS still_reserved
      FROM orders o LEFT JOIN inventory_reservations r ON r.order_id = o.id
      WHERE o.sale_id = ${saleId}::uuid`;
    const result: OrdersOfRecord = { live: [], dead: [], awaiting: [] };
    for (const r of rows) {
      const orderId = r.id.trim();
      // A cancelled order whose stock inventory has not taken back yet still
      // holds its units: it is given back to the gate after that return.
      if ((r.status === 'CANCELLED' || r.status === 'FAILED') && !r.still_reserved) result.dead.push(orderId);
      else result.live.push({ orderId, userId: r.user_id, quantity: r.quantity });
      if (r.status === 'AWAITING_PAYMENT' && r.payment_deadline) {
        result.awaiting.push({ orderId, paymentDeadline: r.payment_deadline });
      }
    }
    return result;
  }

  countOrders(tx: Tx, saleId: string): Promise<number> {
    return tx.order.count({ where: { saleId } });
  }

  async delete(tx: Tx, id: string): Promise<void> {
    await tx.sale.delete({ where: { id } });
  }
}
