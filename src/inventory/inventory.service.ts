import { Inject, Injectable } from '@nestjs/common';
import { OutboxWriter, ProcessedEvents, type NewEvent } from '../events/outbox.js';
import { MicroBatcher } from '../infra/batching/micro-batcher.js';
import { QueueConfig } from '../infra/config/app-config.js';
import { EventName } from '../infra/queues/queues.js';
import type { EventJob } from '../events/event-batch.js';
import { InventoryRepository } from './inventory.repository.js';

const CONSUMER = 'inventory';
type Placed = EventJob<typeof EventName.OrderPlaced>;
type Cancelled = EventJob<typeof EventName.OrderCancelled>;

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
 * lock the sale's inventory row first, so they never interleave. Either way
 * `inventory.returned` is written in the same transaction: the orders module,
 * the one owner of giving units back to the gate, does so when it arrives.
 */
@Injectable()
export class InventoryService {
  private readonly batcher: MicroBatcher<Placed>;
  private readonly returns: MicroBatcher<Cancelled>;

  constructor(
    @Inject(InventoryRepository) private readonly repository: InventoryRepository,
    @Inject(OutboxWriter) private readonly outbox: OutboxWriter,
    @Inject(ProcessedEvents) private readonly processed: ProcessedEvents,
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

  private async returnBatch(events: Cancelled[]): Promise<void> {
    await this.repository.hotTransaction(async (tx) => {
      const fresh = await this.processed.claim(
        tx,
        CONSUMER,
        events.map((e) => e.eventId),
      );
      const byOrder = new Map(events.filter((e) => fresh.has(e.eventId)).map((e) => [e.payload.orderId, e.payload]));
      if (byOrder.size === 0) return;
      const todo = [...byOrder.values()].sort((a, b) => (a.orderId < b.orderId ? -1 : 1));
      await this.repository.lockSales(tx, [...new Set(todo.map((p) => p.saleId))]);
      await this.repository.returnOrVoid(tx, todo);
      // In the same transaction: the orders module gives the units back to the gate once this
      // committed (a shopper admitted with them then finds them in the stock of record).
      await this.outbox.write(
        tx,
        todo.map((p) => ({
          type: EventName.InventoryReturned,
          aggregateId: p.orderId,
          payload: { orderId: p.orderId, saleId: p.saleId, userId: p.userId, quantity: p.quantity },
        })),
      );
    });
  }

  private async reserveBatch(events: Placed[]): Promise<void> {
    await this.repository.hotTransaction(async (tx) => {
      const fresh = await this.processed.claim(
        tx,
        CONSUMER,
        events.map((e) => e.eventId),
      );
      // One event per order even if the relay delivered it twice in this batch.
      const byOrder = new Map(events.filter((e) => fresh.has(e.eventId)).map((e) => [e.payload.orderId, e]));
      if (byOrder.size === 0) return;
      const available = await this.repository.lockSales(tx, [
        ...new Set([...byOrder.values()].map((e) => e.payload.saleId)),
      ]);
      // An order already reserved, returned or voided has had its stock decided. Asked
      // again (a new order.placed for it: the reconcile pass re-asks for orders whose
      // answer was lost with Redis), a RESERVED one gets its answer again; the others
      // were cancelled, nothing to say.
      const known = await this.repository.reservations(tx, [...byOrder.keys()]);
      const answers: NewEvent[] = [];
      for (const [orderId, status] of known) {
        const p = byOrder.get(orderId)!.payload;
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
      const reserved: Placed[] = [];
      for (const event of todo) {
        const p = event.payload;
        const left = available.get(p.saleId);
        if (left !== undefined && left >= p.quantity) {
          reserved.push(event);
          available.set(p.saleId, left - p.quantity);
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
      await this.repository.reserve(
        tx,
        reserved.map((e) => e.payload),
      );
      await this.outbox.write(tx, answers);
    });
  }
}
