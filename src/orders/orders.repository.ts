import { Inject, Injectable } from '@nestjs/common';
import type { Order, OrderStatus, Prisma } from '../generated/prisma/client.js';
import { PrismaService } from '../infra/prisma/prisma.service.js';
import type { Ticket } from '../infra/queues/queues.js';

export type Tx = Prisma.TransactionClient;

export interface OrderRow {
  id: string;
  saleId: string;
  userId: string;
  quantity: number;
  amount: number;
  paymentDeadline: Date | null;
}

interface RawOrderRow {
  id: string;
  sale_id: string;
  user_id: string;
  quantity: number;
  amount: number;
  payment_deadline: Date | null;
}

const toRow = (r: RawOrderRow): OrderRow => ({
  id: r.id,
  saleId: r.sale_id,
  userId: r.user_id,
  quantity: r.quantity,
  amount: r.amount,
  paymentDeadline: r.payment_deadline,
});

@Injectable()
export class OrdersRepository {
  constructor(@Inject(PrismaService) readonly prisma: PrismaService) {}

  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(work, { timeout: 30_000 });
  }

  /** Inserts PENDING orders for the tickets; returns only those inserted now (idempotent on id). */
  async insertPending(tx: Tx, tickets: Ticket[]): Promise<OrderRow[]> {
    const rows = await tx.$queryRaw<RawOrderRow[]>`
      INSERT INTO orders (id, sale_id, user_id, quantity, amount, status, admitted_at, updated_at)
      SELECT t.id, t.sale_id, t.user_id, t.quantity, s.price * t.quantity, 'PENDING',
             to_timestamp(t.admitted_at / 1000.0), now()
      FROM unnest(${tickets.map((t) => t.orderId)}::text[], ${tickets.map((t) => t.saleId)}::uuid[],
                  ${tickets.map((t) => t.userId)}::uuid[], ${tickets.map((t) => t.quantity)}::int[],
                  ${tickets.map((t) => t.admittedAt)}::float8[])
           AS t(id, sale_id, user_id, quantity, admitted_at)
      JOIN sales s ON s.id = t.sale_id
      ORDER BY t.id -- the same order in every transaction: two batches sharing orders cannot deadlock
      ON CONFLICT (id) DO NOTHING
      RETURNING id, sale_id, user_id, quantity, amount, payment_deadline`;
    return rows.map(toRow);
  }

  /** An order that could not be placed, so the shopper sees FAILED with the reason. */
  async insertFailed(ticket: Ticket, reason: string): Promise<boolean> {
    const inserted = await this.prisma.$executeRaw`
      INSERT INTO orders (id, sale_id, user_id, quantity, amount, status, failure_reason, admitted_at, updated_at)
      SELECT ${ticket.orderId}, s.id, ${ticket.userId}::uuid, ${ticket.quantity}, s.price * ${ticket.quantity},
             'FAILED', ${reason}, to_timestamp(${ticket.admittedAt} / 1000.0), now()
      FROM sales s WHERE s.id = ${ticket.saleId}::uuid
      ON CONFLICT (id) DO NOTHING`;
    return inserted > 0;
  }

  /** PENDING → status for these ids; returns the rows that changed now. */
  async transition(
    tx: Tx,
    ids: string[],
    to: Extract<OrderStatus, 'AWAITING_PAYMENT' | 'FAILED'>,
    extra: { paymentWindowSeconds?: number; reason?: string } = {},
  ): Promise<OrderRow[]> {
    if (ids.length === 0) return [];
    // The sale's own payment window wins over the default.
    const rows = await tx.$queryRaw<RawOrderRow[]>`
      UPDATE orders o SET status = ${to}::"OrderStatus", updated_at = now(),
        payment_deadline = CASE WHEN ${to} = 'AWAITING_PAYMENT'
          THEN now() + make_interval(secs => COALESCE(s.payment_window_seconds, ${extra.paymentWindowSeconds ?? 0})::float8)
          ELSE o.payment_deadline END,
        failure_reason = COALESCE(${extra.reason ?? null}::text, o.failure_reason)
      FROM sales s
      WHERE s.id = o.sale_id AND o.id = ANY(${ids}::text[]) AND o.status = 'PENDING'
      RETURNING o.id, o.sale_id, o.user_id, o.quantity, o.amount, o.payment_deadline`;
    return rows.map(toRow);
  }

  /** Locks one order's row for a payment; `open` is whether its deadline is still ahead. */
  async lockForPayment(tx: Tx, id: string): Promise<(OrderRow & { status: OrderStatus; open: boolean }) | null> {
    const rows = await tx.$queryRaw<(RawOrderRow & { status: OrderStatus; open: boolean | null })[]>`
      SELECT id, sale_id, user_id, quantity, amount, payment_deadline, status, payment_deadline > now() AS open
      FROM orders WHERE id = ${id} FOR UPDATE`;
    const row = rows[0];
    return row ? { ...toRow(row), status: row.status, open: row.open === true } : null;
  }

  /** AWAITING_PAYMENT → PAID with its payment record; null when the order was not AWAITING_PAYMENT. */
  async markPaid(
    tx: Tx,
    id: string,
    payment: { id: string; provider: string; idempotencyKey: string; reference: string | null },
  ): Promise<{ order: OrderRow; paidAt: Date } | null> {
    const rows = await tx.$queryRaw<(RawOrderRow & { updated_at: Date })[]>`
      UPDATE orders SET status = 'PAID', updated_at = now()
      WHERE id = ${id} AND status = 'AWAITING_PAYMENT'
      RETURNING id, sale_id, user_id, quantity, amount, payment_deadline, updated_at`;
    const row = rows[0];
    if (!row) return null;
    await tx.$executeRaw`
      INSERT INTO payments (id, order_id, provider, amount, idempotency_key, reference)
      VALUES (${payment.id}, ${id}, ${payment.provider}, ${row.amount}, ${payment.idempotencyKey}, ${payment.reference})`;
    return { order: toRow(row), paidAt: row.updated_at };
  }

  /**
   * → CANCELLED for the ids still in one of `from` (and, for a timeout, past
   * their deadline): one conditional update, so a payment racing it either
   * committed first (nothing changes here) or finds CANCELLED.
   */
  async cancel(
    tx: Tx,
    ids: string[],
    from: Extract<OrderStatus, 'PENDING' | 'AWAITING_PAYMENT'>[],
    reason: string,
    onlyPastDeadline: boolean,
  ): Promise<OrderRow[]> {
    if (ids.length === 0) return [];
    const rows = await tx.$queryRaw<RawOrderRow[]>`
      UPDATE orders SET status = 'CANCELLED', failure_reason = ${reason}, updated_at = now()
      WHERE id = ANY(${ids}::text[]) AND status::text = ANY(${from}::text[])
        AND (NOT ${onlyPastDeadline} OR payment_deadline <= now())
      RETURNING id, sale_id, user_id, quantity, amount, payment_deadline`;
    return rows.map(toRow);
  }

  /** Orders still AWAITING_PAYMENT whose deadline is ahead (an expiry job that fired early). */
  /** Orders of these still AWAITING_PAYMENT, with the ms left to their deadline by Postgres's clock (≤ 0: due). */
  async stillAwaiting(ids: string[]): Promise<{ id: string; waitMs: number }[]> {
    if (ids.length === 0) return [];
    const rows = await this.prisma.$queryRaw<{ id: string; wait_ms: number }[]>`
      SELECT id, (extract(epoch FROM payment_deadline - now()) * 1000)::float8 AS wait_ms FROM orders
      WHERE id = ANY(${ids}::text[]) AND status = 'AWAITING_PAYMENT'`;
    return rows.map((r) => ({ id: r.id, waitMs: Math.round(Number(r.wait_ms)) }));
  }

  /**
   * Orders of a sale stuck for `forMs`: PENDING since then (inventory's answer
   * never came), or AWAITING_PAYMENT that long past the deadline (the expiry
   * never fired). At most `limit` of each.
   */
  async stuck(saleId: string, forMs: number, limit = 1000): Promise<{ pending: OrderRow[]; overdue: string[] }> {
    const [pending, overdue] = await Promise.all([
      this.prisma.$queryRaw<RawOrderRow[]>`
        SELECT id, sale_id, user_id, quantity, amount, payment_deadline FROM orders
        WHERE sale_id = ${saleId}::uuid AND status = 'PENDING'
          AND updated_at < now() - make_interval(secs => ${forMs / 1000}::float8)
        ORDER BY id LIMIT ${limit}`,
      this.prisma.$queryRaw<{ id: string }[]>`
        SELECT id FROM orders
        WHERE sale_id = ${saleId}::uuid AND status = 'AWAITING_PAYMENT'
          AND payment_deadline < now() - make_interval(secs => ${forMs / 1000}::float8)
        ORDER BY id LIMIT ${limit}`,
    ]);
    return { pending: pending.map(toRow), overdue: overdue.map((r) => r.id) };
  }

  async existing(ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.prisma.order.findMany({ where: { id: { in: ids } }, select: { id: true } });
    return new Set(rows.map((r) => r.id));
  }

  findById(id: string): Promise<Order | null> {
    return this.prisma.order.findUnique({ where: { id } });
  }

  async page(userId: string, page: number, pageSize: number): Promise<{ items: Order[]; total: number }> {
    const [items, total] = await Promise.all([
      this.prisma.order.findMany({
        where: { userId },
        orderBy: { id: 'desc' },
        skip: (page - 1) * pageSize,
        take: pageSize,
      }),
      this.prisma.order.count({ where: { userId } }),
    ]);
    return { items, total };
  }

  async countByStatus(saleId: string): Promise<Partial<Record<OrderStatus, number>>> {
    const groups = await this.prisma.order.groupBy({ by: ['status'], where: { saleId }, _count: { _all: true } });
    return Object.fromEntries(groups.map((g) => [g.status, g._count._all]));
  }
}
