import { Inject, Injectable, Logger } from '@nestjs/common';
import { ProcessedEvents, OutboxWriter, type NewEvent } from '../events/outbox.js';
import { GateTickets } from '../gate/gate-tickets.js';
import { MicroBatcher } from '../infra/batching/micro-batcher.js';
import { pgSqlState } from '../infra/prisma/sql-tx.js';
import { PaymentConfig, QueueConfig } from '../infra/config/app-config.js';
import { EventName, JobName } from '../infra/queues/queues.js';
import type { EventJob } from '../events/event-batch.js';
import type { Ticket } from '../gate/tickets.js';
import { QueueService } from '../infra/queues/queues.module.js';
import { SaleLookup } from '../sales/sale-lookup.js';
import { OrderStatusPublisher } from './order-status.js';
import { orderFacts } from './order.events.js';
import { OrdersRepository, type OrderRow } from './orders.repository.js';

const CONSUMER = 'orders';

/** The SQLSTATE class (first two characters) of a Postgres error, as pg or Prisma reports it. */
function sqlStateClass(err: unknown): string | undefined {
  const state = pgSqlState(err);
  if (state) return state.slice(0, 2);
  const e = err as { meta?: { code?: unknown }; message?: unknown };
  if (typeof e?.meta?.code === 'string') return e.meta.code.slice(0, 2);
  return typeof e?.message === 'string' ? /Code: `(\w{2})\w{3}`/.exec(e.message)?.[1] : undefined;
}

/** A ticket that can never become an order as it is (its sale is gone). */
class UnplaceableTicket extends Error {}

/**
 * An error that retrying cannot mend: Postgres data exceptions (class 22) and
 * integrity violations (class 23, e.g. a ticket whose user does not exist),
 * or a ticket whose sale does not exist.
 */
export function isPoison(err: unknown): boolean {
  const cls = sqlStateClass(err);
  return err instanceof UnplaceableTicket || cls === '22' || cls === '23';
}

/** The `order.placed` event of a persisted order. */
export function placedEvent(o: OrderRow): NewEvent<typeof EventName.OrderPlaced> {
  return {
    type: EventName.OrderPlaced,
    aggregateId: o.id,
    payload: { orderId: o.id, saleId: o.saleId, userId: o.userId, quantity: o.quantity },
  };
}

type InventoryAnswer = EventJob<typeof EventName.InventoryReserved> | EventJob<typeof EventName.InventoryRejected>;

/**
 * The worker side of orders: admitted tickets become PENDING orders (and
 * `order.placed`), inventory's answers move them on. Tickets and events
 * arriving together, from one job or several, are written in one transaction
 * (MicroBatcher); every write is idempotent on the order id or the event id,
 * so retries and redeliveries change nothing.
 */
@Injectable()
export class OrderPipelineService {
  private readonly logger = new Logger('Orders');
  private readonly placer: MicroBatcher<Ticket>;
  private readonly answers: MicroBatcher<InventoryAnswer>;

  constructor(
    @Inject(OrdersRepository) private readonly orders: OrdersRepository,
    @Inject(OutboxWriter) private readonly outbox: OutboxWriter,
    @Inject(ProcessedEvents) private readonly processed: ProcessedEvents,
    @Inject(GateTickets) private readonly gate: GateTickets,
    @Inject(OrderStatusPublisher) private readonly status: OrderStatusPublisher,
    @Inject(QueueService) private readonly queues: QueueService,
    @Inject(SaleLookup) private readonly sales: SaleLookup,
    @Inject(PaymentConfig) private readonly config: PaymentConfig,
    @Inject(QueueConfig) queueConfig: QueueConfig,
  ) {
    this.placer = new MicroBatcher((tickets) => this.placeBatch(tickets), queueConfig.BATCH_SIZE);
    this.answers = new MicroBatcher((events) => this.applyBatch(events), queueConfig.BATCH_SIZE);
  }

  /** One ticket on its own (an `order.place` job): its failure is the job's. */
  place(ticket: Ticket): Promise<void> {
    return this.placer.submit([ticket]);
  }

  /**
   * The tickets of one hand-off batch (an `orders.place` job). A poison
   * ticket fails alone: when the batch's transaction fails, each ticket is
   * tried on its own; those that still fail go on as
   * `order.place` jobs of their own (job id = order id) with the usual
   * attempts, whose last failure makes the order FAILED and gives its units
   * back. Only when every ticket failed and none for a reason retrying cannot
   * mend (Postgres down, say) does the whole job fail and retry.
   */
  async placeAll(tickets: Ticket[]): Promise<void> {
    try {
      return await this.placer.submit(tickets);
    } catch {
      // one by one below
    }
    const results = await Promise.allSettled(tickets.map((t) => this.placer.submit([t])));
    const failed: { ticket: Ticket; err: unknown }[] = [];
    results.forEach((r, i) => r.status === 'rejected' && failed.push({ ticket: tickets[i]!, err: r.reason }));
    if (failed.length === 0) return;
    if (failed.length === tickets.length && !failed.some((f) => isPoison(f.err))) throw failed[0]!.err;
    for (const { ticket, err } of failed) {
      this.logger.warn(`order ${ticket.orderId} split off its batch: ${String(err)}`);
    }
    await this.queues.enqueueBulk(
      failed.map(({ ticket }) => ({ name: JobName.PlaceOrder, data: ticket, opts: { jobId: ticket.orderId } })),
    );
  }

  /**
   * `inventory.returned`: inventory took back the stock of cancelled orders
   * (committed), so their units go back to the gate. This module is the one
   * that gives units back (here, for failed orders and for failed tickets);
   * the release is once per order (RELEASE_LUA), so a redelivery gives nothing twice.
   */
  async giveBackReturned(events: EventJob<typeof EventName.InventoryReturned>[]): Promise<void> {
    for (const { payload: p } of events) await this.gate.release(p.saleId, p.orderId, p.userId, p.quantity);
  }

  /** Inventory's answers of one event job (its rows stay together: they are deduplicated per row). */
  applyInventoryAnswers(events: InventoryAnswer[]): Promise<void> {
    return this.answers.submit(events);
  }

  /**
   * The unit price of each ticket's sale, from the sales module's cached
   * lookup (one query per sale per STOREFRONT_CACHE_MS, not a join per batch).
   * A ticket whose sale does not exist can never be placed.
   */
  private async prices(tickets: Ticket[]): Promise<Map<string, number>> {
    const saleIds = [...new Set(tickets.map((t) => t.saleId))];
    const sales = await Promise.all(saleIds.map((id) => this.sales.find(id)));
    const prices = new Map<string, number>();
    saleIds.forEach((id, i) => {
      const sale = sales[i];
      if (!sale) {
        const orphan = tickets.find((t) => t.saleId === id)!;
        throw new UnplaceableTicket(`sale ${id} of order ${orphan.orderId} does not exist`);
      }
      prices.set(id, sale.price);
    });
    return prices;
  }

  /** Payment windows (seconds) of these sales: their own, else PAYMENT_WINDOW_SECONDS. */
  private async paymentWindows(saleIds: string[]): Promise<Map<string, number>> {
    const unique = [...new Set(saleIds)];
    const sales = await Promise.all(unique.map((id) => this.sales.find(id)));
    return new Map(unique.map((id, i) => [id, sales[i]?.paymentWindowSeconds ?? this.config.PAYMENT_WINDOW_SECONDS]));
  }

  private async placeBatch(tickets: Ticket[]): Promise<void> {
    const prices = await this.prices(tickets);
    const placed = await this.orders.hotTransaction(async (tx) => {
      const rows = await this.orders.insertPending(tx, tickets, prices);
      await this.outbox.write(tx, rows.map(placedEvent));
      return rows;
    });
    await this.gate.clearTickets(tickets);
    await this.status.publish(placed.map((o) => ({ orderId: o.id, status: 'PENDING' as const })));
  }

  private async applyBatch(events: InventoryAnswer[]): Promise<void> {
    // Before the transaction, as the prices of placeBatch: on a cache miss the lookup needs a
    // connection of the same pool, and transactions holding every connection while each waits
    // for one more never end (a worker behind a backlog once sat 200 s so).
    const paymentWindows = await this.paymentWindows(
      events.filter((e) => e.type === EventName.InventoryReserved).map((e) => e.payload.saleId),
    );
    const { confirmed, failed } = await this.orders.hotTransaction(async (tx) => {
      const fresh = await this.processed.claim(
        tx,
        CONSUMER,
        events.map((e) => e.eventId),
      );
      const todo = events.filter((e) => fresh.has(e.eventId));
      const reserved = todo.filter((e) => e.type === EventName.InventoryReserved).map((e) => e.payload.orderId);
      const rejected = todo.filter(
        (e): e is EventJob<typeof EventName.InventoryRejected> => e.type === EventName.InventoryRejected,
      );
      const confirmedRows = await this.orders.transition(tx, reserved, 'AWAITING_PAYMENT', { paymentWindows });
      await this.outbox.write(
        tx,
        confirmedRows.map((o): NewEvent => ({
          type: EventName.OrderConfirmed,
          aggregateId: o.id,
          payload: { ...orderFacts(o), paymentDeadline: (o.paymentDeadline ?? new Date()).toISOString() },
        })),
      );
      const failedRows = [];
      for (const reason of new Set(rejected.map((e) => e.payload.reason))) {
        const ids = rejected.filter((e) => e.payload.reason === reason).map((e) => e.payload.orderId);
        failedRows.push(...(await this.orders.transition(tx, ids, 'FAILED', { reason })));
      }
      // Stock goes back to the gate before commit; the release is idempotent
      // per order, so a retry after a failed commit gives nothing back twice.
      for (const o of failedRows) await this.gate.release(o.saleId, o.id, o.userId, o.quantity);
      return { confirmed: confirmedRows, failed: failedRows };
    });
    await this.status.publish([
      ...confirmed.map((o) => ({ orderId: o.id, status: 'AWAITING_PAYMENT' as const })),
      ...failed.map((o) => ({ orderId: o.id, status: 'FAILED' as const })),
    ]);
  }

  /**
   * A ticket whose job failed for good: the shopper sees FAILED with the
   * reason and the units go back to the gate, unless the order did persist.
   */
  async failTicket(ticket: Ticket, reason: string): Promise<void> {
    if ((await this.orders.existing([ticket.orderId])).size > 0) {
      await this.gate.clearTickets([ticket]);
      return;
    }
    // When Postgres is unreachable this throws: the ticket stays and the sweeper
    // tries again later, so an admission is never dropped for a passing outage.
    // A row that can never be written (a constraint refuses it) is no reason to
    // hold the units forever: they go back all the same.
    const sale = await this.sales.find(ticket.saleId);
    let inserted: boolean;
    try {
      // A sale that is gone takes its gate with it: nothing to record, nothing to give back.
      inserted = sale ? await this.orders.insertFailed(ticket, { reason, price: sale.price }) : false;
    } catch (err) {
      if (sqlStateClass(err) !== '23') throw err;
      this.logger.error(`order ${ticket.orderId} cannot be recorded, giving its units back: ${String(err)}`);
      inserted = true;
    }
    if (!inserted) {
      // The order was persisted meanwhile (a stalled job finished late): it lives on.
      await this.gate.clearTickets([ticket]);
      return;
    }
    await this.gate.release(ticket.saleId, ticket.orderId, ticket.userId, ticket.quantity);
    await this.status.publish([{ orderId: ticket.orderId, status: 'FAILED', reason }]);
    this.logger.warn(`order ${ticket.orderId} FAILED: ${reason}`);
  }
}
