import { Inject, Injectable } from '@nestjs/common';
import { PrismaService, type Tx } from '../infra/prisma/prisma.service.js';
import type { SqlTx } from '../infra/prisma/sql-tx.js';

/** One order's units, as a reservation records them. */
export interface Units {
  orderId: string;
  saleId: string;
  quantity: number;
}

/** The stock of record: every write to `inventory` and `inventory_reservations`. */
@Injectable()
export class InventoryRepository {
  constructor(@Inject(PrismaService) private readonly prisma: PrismaService) {}

  /** The workers' batch transaction: named prepared statements on the pg pool (see SqlTx). */
  hotTransaction<T>(work: (tx: SqlTx) => Promise<T>): Promise<T> {
    return this.prisma.sqlTransaction(work);
  }

  /** A new sale's stock of record. */
  async open(tx: Tx, saleId: string, available: number): Promise<void> {
    await tx.inventory.create({ data: { saleId, available } });
  }

  /** Moves available by delta (a sale's stock changed); false when it would go negative. */
  async adjust(tx: Tx, saleId: string, delta: number): Promise<boolean> {
    const changed = await tx.$executeRaw`
      UPDATE inventory SET available = available + ${delta}, updated_at = now()
      WHERE sale_id = ${saleId}::uuid AND available + ${delta} >= 0`;
    return changed > 0;
  }

  /** Units available per sale (sales without a stock of record are left out). */
  async available(saleIds: string[], tx: Tx = this.prisma): Promise<Map<string, number>> {
    const rows = await tx.inventory.findMany({
      where: { saleId: { in: saleIds } },
      select: { saleId: true, available: true },
    });
    return new Map(rows.map((r) => [r.saleId, r.available]));
  }

  /** Those of these orders whose stock is reserved now (RESERVED: not returned or voided). */
  async stillReserved(orderIds: string[]): Promise<Set<string>> {
    const rows = await this.prisma.$queryRaw<{ order_id: string }[]>`
      SELECT order_id FROM inventory_reservations WHERE order_id = ANY(${orderIds}::bpchar[]) AND status = 'RESERVED'`;
    return new Set(rows.map((r) => r.order_id.trim()));
  }

  /** Locks the sales' inventory rows (in id order: no deadlock) and reads what is available. */
  async lockSales(tx: SqlTx, saleIds: string[]): Promise<Map<string, number>> {
    const stock = await tx.query<{ sale_id: string; available: number }>(
      'inventory_lock_sales',
      `SELECT sale_id, available FROM inventory WHERE sale_id = ANY($1::uuid[]) ORDER BY sale_id FOR UPDATE`,
      [[...saleIds].sort()],
    );
    return new Map(stock.map((s) => [s.sale_id, s.available]));
  }

  /** The reservations already recorded for these orders (orderId → status). */
  async reservations(tx: SqlTx, orderIds: string[]): Promise<Map<string, string>> {
    const rows = await tx.query<{ order_id: string; status: string }>(
      'inventory_reservations_of',
      `SELECT order_id, status::text AS status FROM inventory_reservations WHERE order_id = ANY($1::bpchar[])`,
      [orderIds],
    );
    return new Map(rows.map((r) => [r.order_id.trim(), r.status]));
  }

  /** Records the reservations and takes their units (the rows must be locked, see lockSales). */
  async reserve(tx: SqlTx, reserved: Units[]): Promise<void> {
    if (reserved.length === 0) return;
    await tx.execute(
      'inventory_reserve',
      `INSERT INTO inventory_reservations (order_id, sale_id, quantity, status, updated_at)
       SELECT t.order_id, t.sale_id, t.quantity, 'RESERVED'::"ReservationStatus", now()
       FROM unnest($1::text[], $2::uuid[], $3::int[]) AS t(order_id, sale_id, quantity)`,
      [reserved.map((u) => u.orderId), reserved.map((u) => u.saleId), reserved.map((u) => u.quantity)],
    );
    for (const [saleId, units] of perSale(reserved)) {
      const changed = await tx.execute(
        'inventory_take',
        `UPDATE inventory SET available = available - $1::int, updated_at = now()
         WHERE sale_id = $2::uuid AND available >= $1::int`,
        [units, saleId],
      );
      if (changed !== 1) throw new Error(`inventory of sale ${saleId} changed under its lock`);
    }
  }

  /**
   * Cancelled orders: RESERVED → RETURNED gives their units back; an order
   * without a reservation yet is recorded VOIDED (its order.placed, arriving
   * late, reserves nothing). Returns the units given back per sale.
   */
  async returnOrVoid(tx: SqlTx, orders: Units[]): Promise<Map<string, number>> {
    const rows = await tx.query<{ sale_id: string; quantity: number; status: string }>(
      'inventory_return_or_void',
      `INSERT INTO inventory_reservations (order_id, sale_id, quantity, status, updated_at)
       SELECT t.order_id, t.sale_id, t.quantity, 'VOIDED'::"ReservationStatus", now()
       FROM unnest($1::text[], $2::uuid[], $3::int[]) AS t(order_id, sale_id, quantity)
       ON CONFLICT (order_id) DO UPDATE SET status = 'RETURNED', updated_at = now()
         WHERE inventory_reservations.status = 'RESERVED'
       RETURNING sale_id::text AS sale_id, quantity, status::text AS status`,
      [orders.map((p) => p.orderId), orders.map((p) => p.saleId), orders.map((p) => p.quantity)],
    );
    const units = perSale(
      rows.filter((r) => r.status === 'RETURNED').map((r) => ({ saleId: r.sale_id, quantity: r.quantity })),
    );
    for (const [saleId, n] of units) {
      await tx.execute(
        'inventory_give_back',
        `UPDATE inventory SET available = available + $1::int, updated_at = now() WHERE sale_id = $2::uuid`,
        [n, saleId],
      );
    }
    return units;
  }
}

function perSale(list: { saleId: string; quantity: number }[]): Map<string, number> {
  const units = new Map<string, number>();
  for (const u of list) units.set(u.saleId, (units.get(u.saleId) ?? 0) + u.quantity);
  return units;
}
