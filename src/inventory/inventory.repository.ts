import { Inject, Injectable } from '@nestjs/common';
import { PrismaService, type Tx } from '../infra/prisma/prisma.service.js';

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

  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(work, { timeout: 30_000 });
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
  async lockSales(tx: Tx, saleIds: string[]): Promise<Map<string, number>> {
    const stock = await tx.$queryRaw<{ sale_id: string; available: number }[]>`
      SELECT sale_id, available FROM inventory WHERE sale_id = ANY(${[...saleIds].sort()}::uuid[])
      ORDER BY sale_id FOR UPDATE`;
    return new Map(stock.map((s) => [s.sale_id, s.available]));
  }

  /** The reservations already recorded for these orders (orderId → status). */
  async reservations(tx: Tx, orderIds: string[]): Promise<Map<string, string>> {
    const rows = await tx.$queryRaw<{ order_id: string; status: string }[]>`
      SELECT order_id, status::text AS status FROM inventory_reservations
      WHERE order_id = ANY(${orderIds}::bpchar[])`;
    return new Map(rows.map((r) => [r.order_id.trim(), r.status]));
  }

  /** Records the reservations and takes their units (the rows must be locked, see lockSales). */
  async reserve(tx: Tx, reserved: Units[]): Promise<void> {
    if (reserved.length === 0) return;
    await tx.$executeRaw`
      INSERT INTO inventory_reservations (order_id, sale_id, quantity, status, updated_at)
      SELECT t.order_id, t.sale_id, t.quantity, 'RESERVED'::"ReservationStatus", now()
      FROM unnest(${reserved.map((u) => u.orderId)}::text[], ${reserved.map((u) => u.saleId)}::uuid[],
                  ${reserved.map((u) => u.quantity)}::int[]) AS t(order_id, sale_id, quantity)`;
    for (const [saleId, units] of perSale(reserved)) {
      const changed = await tx.$executeRaw`
        UPDATE inventory SET available = available - ${units}, updated_at = now()
        WHERE sale_id = ${saleId}::uuid AND available >= ${units}`;
      if (changed !== 1) throw new Error(`inventory of sale ${saleId} changed under its lock`);
    }
  }

  /**
   * Cancelled orders: RESERVED → RETURNED gives their units back; an order
   * without a reservation yet is recorded VOIDED (its order.placed, arriving
   * late, reserves nothing). Returns the units given back per sale.
   */
  async returnOrVoid(tx: Tx, orders: Units[]): Promise<Map<string, number>> {
    const rows = await tx.$queryRaw<{ sale_id: string; quantity: number; status: string }[]>`
      INSERT INTO inventory_reservations (order_id, sale_id, quantity, status, updated_at)
      SELECT t.order_id, t.sale_id, t.quantity, 'VOIDED'::"ReservationStatus", now()
      FROM unnest(${orders.map((p) => p.orderId)}::text[], ${orders.map((p) => p.saleId)}::uuid[],
                  ${orders.map((p) => p.quantity)}::int[]) AS t(order_id, sale_id, quantity)
      ON CONFLICT (order_id) DO UPDATE SET status = 'RETURNED', updated_at = now()
        WHERE inventory_reservations.status = 'RESERVED'
      RETURNING sale_id::text AS sale_id, quantity, status::text AS status`;
    const units = perSale(
      rows.filter((r) => r.status === 'RETURNED').map((r) => ({ saleId: r.sale_id, quantity: r.quantity })),
    );
    for (const [saleId, n] of units) {
      await tx.$executeRaw`
        UPDATE inventory SET available = available + ${n}, updated_at = now() WHERE sale_id = ${saleId}::uuid`;
    }
    return units;
  }
}

function perSale(list: { saleId: string; quantity: number }[]): Map<string, number> {
  const units = new Map<string, number>();
  for (const u of list) units.set(u.saleId, (units.get(u.saleId) ?? 0) + u.quantity);
  return units;
}
