import { Inject, Injectable } from '@nestjs/common';
import { OutboxWriter, ProcessedEvents, type NewEvent } from '../events/outbox.js';
import { MicroBatcher } from '../infra/batching/micro-batcher.js';
import { AppConfig } from '../infra/config/app-config.js';
import { PrismaService } from '../infra/prisma/prisma.service.js';
import { EventName, type EventJob } from '../infra/queues/queues.js';

const CONSUMER = 'inventory';
type Placed = EventJob<typeof EventName.OrderPlaced>;

/**
 * The stock of record. Reacts to `order.placed` (it never calls the orders
 * module): reserves stock with a conditional update that cannot go negative
 * and answers `inventory.reserved` or `inventory.rejected` through the outbox,
 * all in one transaction with the record of the handled event ids.
 *
 * The sale's inventory row is the hot spot, so events arriving together are
 * decided in one transaction: one row lock and one UPDATE per sale per batch.
 */
@Injectable()
export class InventoryService {
  private readonly batcher: MicroBatcher<Placed>;

  constructor(
    @Inject(PrismaService) private readonly prisma: PrismaService,
    @Inject(OutboxWriter) private readonly outbox: OutboxWriter,
    @Inject(ProcessedEvents) private readonly processed: ProcessedEvents,
    @Inject(AppConfig) config: AppConfig,
  ) {
    this.batcher = new MicroBatcher((events) => this.reserveBatch(events), config.BATCH_SIZE);
  }

  onOrderPlaced(event: Placed): Promise<void> {
    return this.batcher.submit(event);
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
        const todo = [...byOrder.values()].sort((a, b) => (a.payload.orderId < b.payload.orderId ? -1 : 1));
        if (todo.length === 0) return;
        const saleIds = [...new Set(todo.map((e) => e.payload.saleId))].sort();
        const stock = await tx.$queryRaw<{ sale_id: string; available: number }[]>`
          SELECT sale_id, available FROM inventory WHERE sale_id = ANY(${saleIds}::uuid[])
          ORDER BY sale_id FOR UPDATE`;
        const available = new Map(stock.map((s) => [s.sale_id, s.available]));
        const taken = new Map<string, number>();
        const answers: NewEvent[] = [];
        for (const { payload: p } of todo) {
          const left = available.get(p.saleId);
          if (left !== undefined && left >= p.quantity) {
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
