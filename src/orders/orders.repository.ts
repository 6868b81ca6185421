import { Inject, Injectable } from '@nestjs/common';
import type { Order, OrderStatus, RefundStatus } from '../generated/prisma/client.js';
import { PrismaService, type Tx } from '../infra/prisma/prisma.service.js';
import type { SqlTx } from '../infra/prisma/sql-tx.js';
import type { Ticket } from '../gate/tickets.js';

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

/** An order as a payment attempt sees it (see findForPayment). */
export interface PaymentView extends OrderRow {
  status: OrderStatus;
  open: boolean;
  claimMsLeft: number;
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
  constructor(@Inject(PrismaService) private readonly prisma: PrismaService) {}

  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(work, { timeout: 30_000 });
  }

  /** The workers' hot batch transaction: named prepared statements on the pg pool (see SqlTx). */
  hotTransaction<T>(work: (tx: SqlTx) => Promise<T>): Promise<T> {
    return this.prisma.sqlTransaction(work);
  }

  /**
   * Inserts PENDING orders for the tickets, each at its sale's unit price
   * (`prices` by sale id, read by the caller through the sales module);
   * returns only those inserted now (idempotent on id).
   */
  async insertPending(tx: SqlTx, tickets: Ticket[], prices: Map<string, number>): Promise<OrderRow[]> {
    const rows = await tx.query<RawOrderRow>(
      'orders_insert_pending',
      `INSERT INTO orders (id, sale_id, user_id, quantity, amount, status, admitted_at, updated_at)
       SELECT t.id, t.sale_id, t.user_id, t.quantity, t.price * t.quantity, 'PENDING',
              to_timestamp(t.admitted_at / 1000.0), now()
       FROM unnest($1::text[], $2::uuid[], $3::uuid[], $4::int[], $5::float8[], $6::int[])
            AS t(id, sale_id, user_id, quantity, admitted_at, price)
       ORDER BY t.id -- the same order in every transaction: two batches sharing orders cannot deadlock
       ON CONFLICT (id) DO NOTHING
       RETURNING id, sale_id, user_id, quantity, amount, payment_deadline`,
      [
        tickets.map((t) => t.orderId),
        tickets.map((t) => t.saleId),
        tickets.map((t) => t.userId),
        tickets.map((t) => t.quantity),
        tickets.map((t) => t.admittedAt),
        tickets.map((t) => prices.get(t.saleId)),
      ],
    );
    return rows.map(toRow);
  }

  /** An order that could not be placed, so the shopper sees FAILED with the reason (`price`: its sale's unit price). */
  async insertFailed(ticket: Ticket, { reason, price }: { reason: string; price: number }): Promise<boolean> {
    const inserted = await this.prisma.$executeRaw`
      INSERT INTO orders (id, sale_id, user_id, quantity, amount, status, failure_reason, admitted_at, updated_at)
      VALUES (${ticket.orderId}, ${ticket.saleId}::uuid, ${ticket.userId}::uuid, ${ticket.quantity},
              ${price * ticket.quantity}, 'FAILED', ${reason}, to_timestamp(${ticket.admittedAt} / 1000.0), now())
      ON CONFLICT (id) DO NOTHING`;
    return inserted > 0;
  }

  /**
   * PENDING → status for these ids; returns the rows that changed now. To
   * AWAITING_PAYMENT, the deadline is now + the payment window of the order's
   * sale (`paymentWindows`: seconds by sale id, read by the caller through
   * the sales module).
   */
  async transition(
    tx: SqlTx,
    ids: string[],
    to: Extract<OrderStatus, 'AWAITING_PAYMENT' | 'FAILED'>,
    { paymentWindows = new Map(), reason }: { paymentWindows?: Map<string, number>; reason?: string } = {},
  ): Promise<OrderRow[]> {
    if (ids.length === 0) return [];
    const rows = await tx.query<RawOrderRow>(
      'orders_transition',
      `UPDATE orders o SET status = $1::text::"OrderStatus", updated_at = now(),
         payment_deadline = CASE WHEN $1::text = 'AWAITING_PAYMENT'
           THEN now() + make_interval(secs => COALESCE(
             (SELECT w.secs FROM unnest($2::uuid[], $3::float8[]) AS w(sale_id, secs) WHERE w.sale_id = o.sale_id), 0))
           ELSE o.payment_deadline END,
         failure_reason = COALESCE($4::text, o.failure_reason)
       WHERE o.id = ANY($5::bpchar[]) AND o.status = 'PENDING'
       RETURNING o.id, o.sale_id, o.user_id, o.quantity, o.amount, o.payment_deadline`,
      [to, [...paymentWindows.keys()], [...paymentWindows.values()], reason ?? null, ids],
    );
    return rows.map(toRow);
  }

  /**
   * One order as a payment sees it: `open` is whether its deadline is still
   * ahead, `claimMsLeft` how long another payment attempt still holds it
   * (0: nobody), both by Postgres's clock.
   */
  async findForPayment(id: string): Promise<PaymentView | null> {
    const rows = await this.prisma.$queryRaw<
      (RawOrderRow & { status: OrderStatus; open: boolean | null; claim_ms_left: number })[]
    >`
      SELECT id, sale_id, user_id, quantity, amount, payment_deadline, status, payment_deadline > now() AS open,
             GREATEST(0, COALESCE(extract(epoch FROM payment_claimed_until - now()) * 1000, 0))::float8 AS claim_ms_left
      FROM orders WHERE id = ${id}`;
    const row = rows[0];
    return row
      ? {
          ...toRow(row),
          status: row.status,
          open: row.open === true,
          claimMsLeft: Math.ceil(Number(row.claim_ms_left)),
        }
      : null;
  }

  /**
   * Claims the user's AWAITING_PAYMENT order whose deadline is ahead for one
   * payment attempt, for `leaseMs`: one statement, no lock held afterwards. While the
   * claim lasts, no other attempt claims the order and no cancel (the
   * shopper's or the timeout's) touches it. Null when the order is not
   * payable now or another attempt holds it.
   */
  async claimPayment(id: string, userId: string, claim: string, leaseMs: number): Promise<OrderRow | null> {
    const rows = await this.prisma.$queryRaw<RawOrderRow[]>`
      UPDATE orders SET payment_claim = ${claim},
        payment_claimed_until = now() + make_interval(secs => ${leaseMs / 1000}::float8)
      WHERE id = ${id} AND user_id = ${userId}::uuid AND status = 'AWAITING_PAYMENT' AND payment_deadline > now()
        AND (payment_claimed_until IS NULL OR payment_claimed_until <= now())
      RETURNING id, sale_id, user_id, quantity, amount, payment_deadline`;
    return rows[0] ? toRow(rows[0]) : null;
  }

  /**
   * Gives the claim back (the charge was declined, failed, or was refunded);
   * nothing if another attempt holds the order by now. `due`: the order is
   * still AWAITING_PAYMENT and its deadline has passed (the timeout waited for
   * this attempt).
   */
  async releasePaymentClaim(id: string, claim: string): Promise<{ due: boolean } | null> {
    const rows = await this.prisma.$queryRaw<{ due: boolean | null }[]>`
      UPDATE orders SET payment_claim = NULL, payment_claimed_until = NULL
      WHERE id = ${id} AND payment_claim = ${claim}
      RETURNING status = 'AWAITING_PAYMENT' AND payment_deadline <= now() AS due`;
    return rows[0] ? { due: rows[0].due === true } : null;
  }

  /**
   * AWAITING_PAYMENT → PAID with its payment record, for the attempt holding
   * the claim; null when the order was cancelled or claimed by another
   * attempt meanwhile (its charge must then be given back).
   */
  async markPaid(
    tx: Tx,
    id: string,
    claim: string,
    payment: { id: string; provider: string; idempotencyKey: string; reference: string | null },
  ): Promise<{ order: OrderRow; paidAt: Date } | null> {
    const rows = await tx.$queryRaw<(RawOrderRow & { updated_at: Date })[]>`
      UPDATE orders SET status = 'PAID', updated_at = now(), payment_claim = NULL, payment_claimed_until = NULL
      WHERE id = ${id} AND status = 'AWAITING_PAYMENT' AND payment_claim = ${claim}
      RETURNING id, sale_id, user_id, quantity, amount, payment_deadline, updated_at`;
    const row = rows[0];
    if (!row) return null;
    await tx.$executeRaw`
      INSERT INTO payments (id, order_id, provider, amount, idempotency_key, reference)
      VALUES (${payment.id}, ${id}, ${payment.provider}, ${row.amount}, ${payment.idempotencyKey}, ${payment.reference})`;
    return { order: toRow(row), paidAt: row.updated_at };
  }

  /** The provider key of the order's recorded payment, if it has one. */
  async paymentKeyOf(orderId: string): Promise<string | null> {
    const payment = await this.prisma.payment.findUnique({ where: { orderId }, select: { idempotencyKey: true } });
    return payment?.idempotencyKey ?? null;
  }

  /** Records a charge given back (or to give back by hand); a second record of the same charge changes nothing. */
  async recordRefund(refund: {
    id: string;
    orderId: string;
    provider: string;
    amount: number;
    idempotencyKey: string;
    reference: string | null;
    status: RefundStatus;
    lastError: string | null;
  }): Promise<void> {
    await this.prisma.paymentRefund.upsert({
      where: { idempotencyKey: refund.idempotencyKey },
      create: refund,
      update: {},
    });
  }

  /**
   * → CANCELLED for the ids still in one of `from` (and, for a timeout, past
   * their deadline) that no payment attempt holds: one conditional update, so
   * a payment racing it either claimed first (nothing changes here until its
   * claim ends) or finds CANCELLED.
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
      WHERE id = ANY(${ids}::bpchar[]) AND status::text = ANY(${from}::text[])
        AND (NOT ${onlyPastDeadline} OR payment_deadline <= now())
        AND (payment_claimed_until IS NULL OR payment_claimed_until <= now())
      RETURNING id, sale_id, user_id, quantity, amount, payment_deadline`;
    return rows.map(toRow);
  }

  /**
   * Orders of these still AWAITING_PAYMENT, with the ms left by Postgres's
   * clock until they can be cancelled: their deadline, or the end of a
   * payment attempt's claim when later (≤ 0: due).
   */
  async stillAwaiting(ids: string[]): Promise<{ id: string; waitMs: number }[]> {
    if (ids.length === 0) return [];
    const rows = await this.prisma.$queryRaw<{ id: string; wait_ms: number }[]>`
      SELECT id, (extract(epoch FROM GREATEST(payment_deadline, payment_claimed_until) - now()) * 1000)::float8 AS wait_ms
      FROM orders
      WHERE id = ANY(${ids}::bpchar[]) AND status = 'AWAITING_PAYMENT'`;
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

  /** Every order of a sale: who holds how many units, in which status (a gate rebuild's read). */
  async ofSale(
    saleId: string,
  ): Promise<{ id: string; userId: string; quantity: number; status: OrderStatus; paymentDeadline: Date | null }[]> {
    const rows = await this.prisma.$queryRaw<
      { id: string; user_id: string; quantity: number; status: OrderStatus; payment_deadline: Date | null }[]
    >`
      SELECT id, user_id::text AS user_id, quantity, status::text AS status, payment_deadline
      FROM orders WHERE sale_id = ${saleId}::uuid`;
    return rows.map((r) => ({
      id: r.id.trim(),
      userId: r.user_id,
      quantity: r.quantity,
      status: r.status,
      paymentDeadline: r.payment_deadline,
    }));
  }

  countOfSale(saleId: string, tx: Tx = this.prisma): Promise<number> {
    return tx.order.count({ where: { saleId } });
  }

  /** These orders as a message about them needs them (missing ids left out). */
  async findMany(ids: string[]): Promise<(OrderRow & { status: OrderStatus })[]> {
    const rows = await this.prisma.$queryRaw<(RawOrderRow & { status: OrderStatus })[]>`
      SELECT id, sale_id::text AS sale_id, user_id::text AS user_id, quantity, amount, payment_deadline,
             status::text AS status
      FROM orders WHERE id = ANY(${ids}::bpchar[])`;
    return rows.map((r) => ({ ...toRow(r), status: r.status }));
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
