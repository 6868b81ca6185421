import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Queue } from 'bullmq';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AppConfig } from '../src/infra/config/app-config.js';
import { JobName, QueueName } from '../src/infra/queues/queues.js';
import { buy, createActiveSale, query, statusCounts } from './support/buy.js';
import { waitFor } from './support/wait-for.js';
import type { TestDatabase } from './support/env.js';
import { startFixture, type ApiFixture } from './support/fixture.js';
import { request, type Answer, type RunningApi } from './support/http.js';
import type { TestUser } from './support/users.js';

interface Held {
  key: string;
  respond(status: number): void;
}

/** An HTTP payment provider that holds every charge until the test answers it. */
class SlowProvider {
  readonly held: Held[] = [];
  readonly refunds: { key: string; body: Record<string, unknown> }[] = [];
  refundStatus = 200;
  private server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
        const key = req.headers['idempotency-key'] as string;
        if (req.url === '/refunds') {
          this.refunds.push({ key, body });
          return answer(res, this.refundStatus);
        }
        this.held.push({ key, respond: (status) => answer(res, status, { id: `ch_${key}` }) });
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Answers every charge held so far. */
  release(status = 200): void {
    for (const h of this.held.splice(0)) h.respond(status);
  }

  async stop(): Promise<void> {
    this.release(503);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function answer(res: ServerResponse, status: number, body: object = {}): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

interface OrderBody {
  id: string;
  status: string;
  code?: string;
  message?: string;
}

describe('payment: claimed in a short statement, charged outside any transaction, recorded conditionally', () => {
  let fx: ApiFixture;
  let db: TestDatabase;
  let config: AppConfig;
  let api: RunningApi;
  let provider: SlowProvider;
  let admin: TestUser;
  let users: TestUser[];
  let timeouts: Queue;
  let next = 0;
  const shopper = (): TestUser => users[next++]!;

  beforeAll(async () => {
    provider = new SlowProvider();
    await provider.start();
    fx = await startFixture('payclaims', {
      env: {
        PAYMENT_PROVIDER: 'http',
        PAYMENT_PROVIDER_URL: `${provider.url}/charges`,
        PAYMENT_REFUND_URL: `${provider.url}/refunds`,
        PAYMENT_TIMEOUT_MS: '10000',
        PAYMENT_WINDOW_SECONDS: '600',
      },
      users: 60,
      worker: 'ops,promotions,orders,inventory,timeouts',
    });
    ({ db, config, api, admin, users } = fx);
    timeouts = new Queue(QueueName.Timeouts, { connection: { url: config.REDIS_URL }, prefix: config.QUEUE_PREFIX });
  });

  afterAll(async () => {
    await provider?.stop();
    await timeouts?.close();
    await fx?.close();
  });

  const pay = (u: TestUser, id: string): Promise<Answer<OrderBody>> =>
    request<OrderBody>(api.url, 'POST', `/orders/${id}/pay`, { token: u.token });

  /** Orders of fresh shoppers, AWAITING_PAYMENT. */
  async function awaitingOrders(count: number, saleOverrides: Record<string, unknown> = {}) {
    const sale = await createActiveSale(api.url, admin, { stock: count, ...saleOverrides });
    const buyers = Array.from({ length: count }, shopper);
    const ids = await Promise.all(buyers.map(async (u) => (await buy(api.url, u, sale.id)).body.orderId!));
    await waitFor(
      `${count} AWAITING_PAYMENT`,
      () => statusCounts(db.url, sale.id),
      (c) => c.AWAITING_PAYMENT === count,
    );
    return { saleId: sale.id, orders: buyers.map((u, i) => ({ user: u, id: ids[i]! })) };
  }

  async function statusOf(id: string): Promise<string> {
    const [row] = await query<{ status: string }>(db.url, 'SELECT status FROM orders WHERE id = $1', [id]);
    return row!.status;
  }

  async function eventCounts(id: string): Promise<Record<string, number>> {
    const rows = await query<{ type: string; n: string }>(
      db.url,
      'SELECT type, count(*) AS n FROM outbox_events WHERE aggregate_id = $1 GROUP BY type',
      [id],
    );
    return Object.fromEntries(rows.map((r) => [r.type, Number(r.n)]));
  }

  /** Payments of the API that waited for another attempt of their order (flash_payment_waits_total). */
  async function paymentWaits(): Promise<number> {
    const res = await request<string>(api.url, 'GET', '/metrics');
    const found = /^flash_payment_waits_total (\d+)$/m.exec(res.body);
    if (!found) throw new Error(`no flash_payment_waits_total in /metrics (${res.status})`);
    return Number(found[1]);
  }

  const heldCount = (n: number) =>
    waitFor(
      `${n} charges at the provider`,
      async () => provider.held.length,
      (h) => h >= n,
    );

  it('twenty slow charges hold no connection and no transaction: every other query answers meanwhile', async () => {
    const { orders } = await awaitingOrders(20);
    const payments = orders.map((o) => pay(o.user, o.id));
    await heldCount(20);

    // While all twenty wait on the provider: no session sits in a transaction, and reads of every kind answer.
    const inTransaction = await query<{ n: string }>(
      db.url,
      `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'`,
    );
    expect(Number(inTransaction[0]!.n)).toBe(0);
    const reads = [
      ...orders.map((o) => request(api.url, 'GET', `/orders/${o.id}`, { token: o.user.token })),
      ...orders.map((o) => request(api.url, 'GET', '/me/orders', { token: o.user.token })),
      ...Array.from({ length: 20 }, () => request(api.url, 'GET', '/admin/sales', { token: admin.token })),
    ];
    const answered = await Promise.race([
      Promise.all(reads),
      new Promise<'stalled'>((resolve) => setTimeout(() => resolve('stalled'), 5000).unref()),
    ]);
    expect(answered).not.toBe('stalled');
    expect((answered as Answer[]).every((a) => a.status === 200)).toBe(true);

    // A cancel while the payment is under way is refused, and changes nothing.
    const refused = await request<OrderBody>(api.url, 'POST', `/orders/${orders[0]!.id}/cancel`, {
      token: orders[0]!.user.token,
    });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'ORDER_NOT_CANCELLABLE', message: expect.stringMatching(/under way/) });

    provider.release(200);
    const results = await Promise.all(payments);
    expect(results.map((r) => [r.status, r.body.status])).toEqual(orders.map(() => [200, 'PAID']));
    const paid = await query<{ n: string }>(
      db.url,
      'SELECT count(*) AS n FROM payments WHERE order_id = ANY($1::text[])',
      [orders.map((o) => o.id)],
    );
    expect(Number(paid[0]!.n)).toBe(20);
  });

  it('a second payment of the same order waits for the first and is not charged again', async () => {
    const { orders } = await awaitingOrders(1);
    const [o] = orders;
    const first = pay(o!.user, o!.id);
    await heldCount(1);
    const waitsBefore = await paymentWaits();
    const second = pay(o!.user, o!.id);
    // The second found the order claimed by the first and waits for its outcome: it charged nothing.
    await waitFor('the second payment waiting for the first', paymentWaits, (n) => n > waitsBefore);
    expect(provider.held).toHaveLength(1);
    provider.release(200);
    expect((await Promise.all([first, second])).map((r) => [r.status, r.body.status])).toEqual([
      [200, 'PAID'],
      [200, 'PAID'],
    ]);
    expect(provider.held).toHaveLength(0);
  });

  /** The deadline passed and the timeout's job ran while the charge was held. */
  async function timeoutRan(id: string): Promise<void> {
    // Deadlines are expired in batches (one orders.expire job per batch and second), or alone.
    await waitFor(
      'the expiry job to run',
      async () =>
        (await timeouts.getJobs(['completed'])).some((j) =>
          j.name === JobName.ExpireOrders
            ? (j.data as { orderIds: string[] }).orderIds.includes(id)
            : j.name === JobName.ExpireOrder && (j.data as { orderId: string }).orderId === id,
        ),
      (ran) => ran,
      15_000,
    );
  }

  it('the timeout waits for a payment claimed before the deadline: approved → PAID, never CANCELLED', async () => {
    const { orders } = await awaitingOrders(1, { paymentWindowSeconds: 1 });
    const [o] = orders;
    const paying = pay(o!.user, o!.id);
    await heldCount(1);
    await timeoutRan(o!.id);
    expect(await statusOf(o!.id)).toBe('AWAITING_PAYMENT');
    provider.release(200);
    const res = await paying;
    expect([res.status, res.body.status]).toEqual([200, 'PAID']);
    expect(await eventCounts(o!.id)).toMatchObject({ 'order.paid': 1 });
    expect((await eventCounts(o!.id))['order.cancelled']).toBeUndefined();
  });

  it('the timeout waits for it: declined after the deadline → 402, then CANCELLED at once', async () => {
    const { orders } = await awaitingOrders(1, { paymentWindowSeconds: 1 });
    const [o] = orders;
    const paying = pay(o!.user, o!.id);
    await heldCount(1);
    await timeoutRan(o!.id);
    provider.release(402);
    expect((await paying).status).toBe(402);
    // Not after the claim's 15 s: giving the claim back asks the expiry to run now.
    await waitFor(
      'CANCELLED',
      () => statusOf(o!.id),
      (s) => s === 'CANCELLED',
      5000,
    );
    expect(await eventCounts(o!.id)).toMatchObject({ 'order.cancelled': 1 });
  });

  it.each([
    [200, 'REFUNDED', /was cancelled .*; this charge has been refunded/],
    [500, 'REFUND_PENDING', /was cancelled .*; this charge will be refunded/],
  ])(
    'a charge approved after its claim ran out and the order was cancelled: refund answered %i → %s, 409',
    async (refundStatus, recorded, message) => {
      provider.refundStatus = refundStatus;
      const { orders } = await awaitingOrders(1);
      const [o] = orders;
      const paying = pay(o!.user, o!.id);
      await heldCount(1);
      // As if this API had stalled past the claim: the claim runs out and the shopper cancels.
      await query(db.url, `UPDATE orders SET payment_claimed_until = now() - interval '1 second' WHERE id = $1`, [
        o!.id,
      ]);
      const cancelled = await request<OrderBody>(api.url, 'POST', `/orders/${o!.id}/cancel`, { token: o!.user.token });
      expect(cancelled.body.status).toBe('CANCELLED');
      provider.release(200);

      const res = await paying;
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ code: 'ORDER_NOT_PAYABLE', message: expect.stringMatching(message) });
      expect(await statusOf(o!.id)).toBe('CANCELLED');
      expect(provider.refunds.at(-1)).toEqual({
        key: `refund-order-${o!.id}`,
        body: expect.objectContaining({ orderId: o!.id, amount: 1000, reference: `ch_order-${o!.id}` }),
      });
      const refunds = await query<{ status: string; amount: number; idempotency_key: string }>(
        db.url,
        'SELECT status, amount, idempotency_key FROM payment_refunds WHERE order_id = $1',
        [o!.id],
      );
      expect(refunds).toEqual([{ status: recorded, amount: 1000, idempotency_key: `order-${o!.id}` }]);
      expect(await query(db.url, 'SELECT 1 FROM payments WHERE order_id = $1', [o!.id])).toEqual([]);
      const events = await eventCounts(o!.id);
      expect([events['order.cancelled'], events['order.paid']]).toEqual([1, undefined]);
    },
  );
});
