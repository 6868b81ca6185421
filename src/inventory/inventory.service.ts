import { Inject, Injectable } from '@nestjs/common';
import { OutboxWriter, ProcessedEvents, type NewEvent } from '../events/outbox.js';
import { GateService } from '../gate/gate.service.js';
import { MicroBatcher } from '../infra/batching/micro-batcher.js';
import { QueueConfig } from '../infra/config/app-config.js';
import { PrismaService } from '../infra/prisma/prisma.service.js';
import { EventName, type EventJob } from '../infra/queues/queues.js';

const CONSUMER = 'inventory';
type Placed = EventJob<typeof EventName.OrderPlaced>;
type Cancelled = EventJob<typeof EventName.OrderCancelled>;
type Tx = Parameters<Parameters<PrismaService['$transaction']>[0]>[0];

/**
 * The stock of record. Reacts to `order.placed` (it never calls the orders
 * module): reserves stock with a conditional update that cannot go negative
 * and answers `inventory.reserved` or `inventory.rejected` through the outbox,
 * all in one transaction with the record of the handled event ids.
 *
 * The sale's inventory row is the hot spot, so events arriving together are
 * decided in one transaction: one row lock and one UPDATE per sale per batch.
 *
 * Each reservation is a row of `inventory_reservations` (one per order), so
 * `order.cancelled` returns stock exactly once: RESERVED → RETURNED adds the
 * units back; an order cancelled before its `order.placed` got here is
 * recorded VOIDED and that `order.placed` then reserves nothing. Both paths
 * lock the sale's inventory row first, so they never interleave. After the
 * return commits, the gate gets the units back (once per order, see RELEASE_LUA).
 */
@Injectable()
export class InventoryService {
  private readonly batcher: MicroBatcher<Placed>;
  private readonly returns: MicroBatcher<Cancelled>;

  constructor(
    @Inject(PrismaService) private readonly prisma: PrismaService,
    @Inject(OutboxWriter) private readonly outbox: OutboxWriter,
    @Inject(ProcessedEvents) private readonly processed: ProcessedEvents,
    @Inject(GateService) private readonly gate: GateService,
    @Inject(QueueConfig) config: QueueConfig,
  ) {
    this.batcher = new MicroBatcher((events) => this.reserveBatch(events), config.BATCH_SIZE);
    this.returns = new MicroBatcher((events) => this.returnBatch(events), config.BATCH_SIZE);
  }

  /** The `order.placed` events of one job (kept together: they are deduplicated per outbox row). */
  onOrdersPlaced(events: Placed[]): Promise<void> {
    return this.batcher.submit(events);
  }

  /** The `order.cancelled` events of one job. */
  onOrdersCancelled(events: Cancelled[]): Promise<void> {
    return this.returns.submit(events);
  }

  private async lockSales(tx: Tx, saleIds: string[]): Promise<Map<string, number>> {
    const stock = await tx.$queryRaw<{ sale_id: string; available: number }[]>`
      SELECT sale_id, available FROM inventory WHERE sale_id = ANY(${[...saleIds].sort()}::uuid[])
      ORDER BY sale_id FOR UPDATE`;
    return new Map(stock.map((s) => [s.sale_id, s.available]));
  }

  private async returnBatch(events: Cancelled[]): Promise<void> {
    await this.prisma.$transaction(
      async (tx) => {
        const fresh = await this.processed.claim(
          tx,
          CONSUMER,
          events.map((e) => e.eventId),
        );
        const byOrder = new Map(events.filter((e) => fresh.has(e.eventId)).map((e) => [e.payload.orderId, e.payload]));
        if (byOrder.size === 0) return;
        const todo = [...byOrder.values()].sort((a, b) => (a.orderId < b.orderId ? -1 : 1));
        await this.lockSales(tx, [...new Set(todo.map((p) => p.saleId))]);
        // RESERVED → RETURNED gives the units back; no reservation yet → VOIDED (reserve nothing later).
        const rows = await tx.$queryRaw<{ sale_id: string; quantity: number; status: string }[]>`
          INSERT INTO inventory_reservations (order_id, sale_id, quantity, status, updated_at)
          SELECT t.order_id, t.sale_id, t.quantity, 'VOIDED'::"ReservationStatus", now()
          FROM unnest(${todo.map((p) => p.orderId)}::text[], ${todo.map((p) => p.saleId)}::uuid[],
                      ${todo.map((p) => p.quantity)}::int[]) AS t(order_id, sale_id, quantity)
          ON CONFLICT (order_id) DO UPDATE SET status = 'RETURNED', updated_at = now()
            WHERE inventory_reservations.status = 'RESERVED'
          RETURNING sale_id::text AS sale_id, quantity, status::text AS status`;
        const units = new Map<string, number>();
        for (const r of rows.filter((r) => r.status === 'RETURNED')) {
          units.set(r.sale_id, (units.get(r.sale_id) ?? 0) + r.quantity);
        }
        for (const [saleId, n] of units) {
          await tx.$executeRaw`
            UPDATE inventory SET available = available + ${n}, updated_at = now() WHERE sale_id = ${saleId}::uuid`;
        }
      },
      { timeout: 30_000 },
    );
    // After the commit, so a shopper the gate admits with these units finds them in the stock of
    // record. Also on a redelivery (the release is once per order): a crash right after the
    // commit must not keep the units out of the gate.
    for (const { payload: p } of events) await this.gate.release(p.saleId, p.orderId, p.userId, p.quantity);
  }

  private async reserveBatch(events: Placed[]): Promise<void> {
    await this.prisma.$transaction(
      async (tx) => {
        const fresh = await this.processed.claim(
          tx,
          CONSUMER,
          events.map((e) => e.eventId),
        );
        // One event per order even if the relay delivered it twice in this batch.
        const byOrder = new Map(events.filter((e) => fresh.has(e.eventId)).map((e) => [e.payload.orderId, e]));
        if (byOrder.size === 0) return;
        const available = await this.lockSales(tx, [...new Set([...byOrder.values()].map((e) => e.payload.saleId))]);
        // An order already reserved, returned or voided has had its stock decided. Asked
        // again (a new order.placed for it: the reconcile pass re-asks for orders whose
        // answer was lost with Redis), a RESERVED one gets its answer again; the others
        // were cancelled, nothing to say.
        const known = await tx.$queryRaw<{ order_id: string; status: string }[]>`
          SELECT order_id, status::text AS status FROM inventory_reservations
          WHERE order_id = ANY(${[...byOrder.keys()]}::text[])`;
        const answers: NewEvent[] = [];
        for (const { order_id, status } of known) {
          const p = byOrder.get(order_id.trim())!.payload;
          byOrder.delete(p.orderId);
          if (status === 'RESERVED') {
            answers.push({
              type: EventName.InventoryReserved,
              aggregateId: p.orderId,
              payload: { orderId: p.orderId, saleId: p.saleId, quantity: p.quantity },
            });
          }
        }
        const todo = [...byOrder.values()].sort((a, b) => (a.payload.orderId < b.payload.orderId ? -1 : 1));
        const taken = new Map<string, number>();
        const reserved: Placed[] = [];
        for (const event of todo) {
          const p = event.payload;
          const left = available.get(p.saleId);
          if (left !== undefined && left >= p.quantity) {
            reserved.push(event);
            available.set(p.saleId, left - p.quantity);
            taken.set(p.saleId, (taken.get(p.saleId) ?? 0) + p.quantity);
            answers.push({
              type: EventName.InventoryReserved,
              aggregateId: p.orderId,
              payload: { orderId: p.orderId, saleId: p.saleId, quantity: p.quantity },
            });
          } else {
            answers.push({
              type: EventName.InventoryRejected,
              aggregateId: p.orderId,
              payload: {
                orderId: p.orderId,
                saleId: p.saleId,
                quantity: p.quantity,
                reason: left === undefined ? 'SALE_NOT_FOUND' : 'OUT_OF_STOCK',
              },
            });
          }
        }
        if (reserved.length > 0) {
          await tx.$executeRaw`
            INSERT INTO inventory_reservations (order_id, sale_id, quantity, status, updated_at)
            SELECT t.order_id, t.sale_id, t.quantity, 'RESERVED'::"ReservationStatus", now()
            FROM unnest(${reserved.map((e) => e.payload.orderId)}::text[], ${reserved.map((e) => e.payload.saleId)}::uuid[],
                        ${reserved.map((e) => e.payload.quantity)}::int[]) AS t(order_id, sale_id, quantity)`;
        }
        for (const [saleId, units] of taken) {
          const changed = await tx.$executeRaw`
            UPDATE inventory SET available = available - ${units}, updated_at = now()
            WHERE sale_id = ${saleId}::uuid AND available >= ${units}`;
          if (changed !== 1) throw new Error(`inventory of sale ${saleId} changed under its lock`);
        }
        await this.outbox.write(tx, answers);
      },
      { timeout: 30_000 },
    );
  }
}
