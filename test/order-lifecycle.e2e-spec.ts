import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplicationContext } from '@nestjs/common';
import { Queue, QueueEvents } from 'bullmq';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GateReadModel } from '../src/gate/gate-read-model.js';
import { SoldOutFlags } from '../src/purchase/sold-out-flags.js';
import type { AppConfig } from '../src/infra/config/app-config.js';
import { EventName, QueueName } from '../src/infra/queues/queues.js';
import { available, buy, createActiveSale, outboxEventsOf, query, statusCounts } from './support/buy.js';
import { waitFor } from './support/wait-for.js';
import type { TestDatabase } from './support/env.js';
import { startFixture, type ApiFixture } from './support/fixture.js';
import { request, startApi, type Answer, type RunningApi } from './support/http.js';
import type { TestUser } from './support/users.js';
import { startWorker } from './support/worker.js';

interface OrderBody {
  id: string;
  status: string;
  failureReason: string | null;
  code?: string;
}

describe('order lifecycle: pay, cancel, payment timeout, stock return (real Postgres, Redis, BullMQ)', () => {
  let fx: ApiFixture;
  let db: TestDatabase;
  let config: AppConfig;
  let api: RunningApi;
  let inventoryWorker: INestApplicationContext | undefined;
  let admin: TestUser;
  let users: TestUser[];
  let gateReads: GateReadModel;
  let next = 0;
  const shopper = (): TestUser => users[next++]!;

  beforeAll(async () => {
    fx = await startFixture('lifecycle', {
      env: { PAYMENT_WINDOW_SECONDS: '60', JOB_LOCK_MS: '5000' },
      users: 300,
      // Inventory runs in its own worker, started by the first test (which needs it stopped).
      worker: 'ops,promotions,orders,timeouts,notifications',
    });
    ({ db, config, api, admin, users } = fx);
    gateReads = api.app.get(GateReadModel);
  });

  afterAll(async () => {
    await inventoryWorker?.close();
    await fx.close();
  });

  const pay = (u: TestUser, id: string, key?: string): Promise<Answer<OrderBody>> =>
    request<OrderBody>(api.url, 'POST', `/orders/${id}/pay`, {
      token: u.token,
      headers: key ? { 'idempotency-key': key } : {},
    });
  const cancel = (u: TestUser, id: string): Promise<Answer<OrderBody>> =>
    request<OrderBody>(api.url, 'POST', `/orders/${id}/cancel`, { token: u.token });

  async function orderRow(id: string): Promise<{ status: string; failure_reason: string | null }> {
    const [row] = await query<{ status: string; failure_reason: string | null }>(
      db.url,
      'SELECT status, failure_reason FROM orders WHERE id = $1',
      [id],
    );
    return row ?? { status: 'NONE', failure_reason: null };
  }

  async function reach(id: string, status: string, timeoutMs?: number): Promise<void> {
    await waitFor(
      `order ${id} ${status}`,
      () => orderRow(id),
      (r) => r.status === status,
      timeoutMs,
    );
  }

  async function bought(u: TestUser, saleId: string): Promise<string> {
    const res = await buy(api.url, u, saleId);
    expect(res.status).toBe(202);
    return res.body.orderId!;
  }

  async function events(orderId: string): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const e of await outboxEventsOf(db.url, [orderId])) counts[e.type] = (counts[e.type] ?? 0) + 1;
    return counts;
  }

  async function reservation(orderId: string): Promise<string | undefined> {
    const [row] = await query<{ status: string }>(
      db.url,
      'SELECT status FROM inventory_reservations WHERE order_id = $1',
      [orderId],
    );
    return row?.status;
  }

  it('cancel while PENDING: the late order.placed reserves nothing; stock of record and gate stay whole', async () => {
    const sale = await createActiveSale(api.url, admin, { stock: 2 });
    const u = shopper();
    const orderId = await bought(u, sale.id);
    await reach(orderId, 'PENDING');
    const inventoryQueue = new Queue(QueueName.Inventory, {
      connection: { url: config.REDIS_URL },
      prefix: config.QUEUE_PREFIX,
    });
    const inventoryEvents = new QueueEvents(QueueName.Inventory, {
      connection: { url: config.REDIS_URL },
      prefix: config.QUEUE_PREFIX,
    });
    try {
      // Hold order.placed back, so the cancellation reaches inventory first.
      const placed = await waitFor(
        'order.placed relayed',
        () => inventoryQueue.getJobs(['waiting']),
        (jobs) => jobs.some((j) => j.name === EventName.OrderPlaced),
      );
      const job = placed.find((j) => j.name === EventName.OrderPlaced)!;
      await job.remove();

      const res = await cancel(u, orderId);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: orderId, status: 'CANCELLED', failureReason: 'CANCELLED_BY_REQUEST' });

      inventoryWorker = await startWorker({ ...config, WORKER_QUEUES: 'inventory' } as AppConfig);
      await waitFor(
        'the reservation voided',
        () => reservation(orderId),
        (s) => s === 'VOIDED',
      );
      await waitFor(
        'the units back in the gate',
        () => gateReads.remaining(sale.id),
        (r) => r === 2,
      );

      // The late order.placed now arrives: it must reserve nothing.
      await inventoryEvents.waitUntilReady();
      const late = await inventoryQueue.add(job.name, job.data, { jobId: `${job.id}-late` });
      await late.waitUntilFinished(inventoryEvents, 20_000);
      expect(await reservation(orderId)).toBe('VOIDED');
      expect(await available(db.url, sale.id)).toBe(2);
      expect(await orderRow(orderId)).toMatchObject({ status: 'CANCELLED' });
      expect(await events(orderId)).toEqual({
        [EventName.OrderPlaced]: 1,
        [EventName.OrderCancelled]: 1,
        [EventName.InventoryReturned]: 1,
      });
      expect(await gateReads.remaining(sale.id)).toBe(2);
    } finally {
      await inventoryEvents.close();
      await inventoryQueue.close();
    }
  });

  it('pay: PAID once with order.paid and a receipt; paying again returns it unchanged; others cannot pay', async () => {
    const sale = await createActiveSale(api.url, admin, { stock: 10 });
    const u = shopper();
    const orderId = await bought(u, sale.id);
    await reach(orderId, 'AWAITING_PAYMENT');

    const stranger = shopper();
    expect((await pay(stranger, orderId)).body).toMatchObject({ code: 'ORDER_NOT_FOUND' });
    expect((await pay(admin, orderId)).status).toBe(403);

    const [first, concurrent] = await Promise.all([pay(u, orderId, 'key-1'), pay(u, orderId, 'key-1')]);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ id: orderId, status: 'PAID' });
    expect(concurrent.status).toBe(200);
    expect(concurrent.body).toMatchObject({ status: 'PAID' });
    const again = await pay(u, orderId);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ status: 'PAID' });

    const payments = await query<{ idempotency_key: string; provider: string; amount: number }>(
      db.url,
      'SELECT idempotency_key, provider, amount FROM payments WHERE order_id = $1',
      [orderId],
    );
    expect(payments).toEqual([{ idempotency_key: `order-${orderId}-key-1`, provider: 'approve', amount: 1000 }]);
    expect((await events(orderId))[EventName.OrderPaid]).toBe(1);

    const notCancellable = await cancel(u, orderId);
    expect(notCancellable.status).toBe(409);
    expect(notCancellable.body).toMatchObject({ code: 'ORDER_NOT_CANCELLABLE' });

    const receipts = await waitFor(
      'the receipt',
      () =>
        query<{ channel: string; content: { subject: string } }>(
          db.url,
          `SELECT channel, content FROM notifications WHERE order_id = $1 AND kind = 'order.paid'`,
          [orderId],
        ),
      (rows) => rows.length > 0,
    );
    expect(receipts).toHaveLength(1);
    expect(receipts[0]).toMatchObject({ channel: 'EMAIL' });
    expect(receipts[0]!.content.subject).toContain(`Receipt for order ${orderId}`);
    expect(await reservation(orderId)).toBe('RESERVED');
  });

  it('http provider: a decline is 402 and changes nothing; the retry is charged once with its Idempotency-Key', async () => {
    const charges: { key: string | undefined; amount: unknown }[] = [];
    let answer = 402;
    const provider = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { amount: unknown };
        charges.push({ key: req.headers['idempotency-key'] as string | undefined, amount: body.amount });
        res.writeHead(answer, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: `ch_${charges.length}` }));
      });
    });
    await new Promise<void>((resolve) => provider.listen(0, '127.0.0.1', resolve));
    const port = (provider.address() as AddressInfo).port;
    const paying = await startApi({
      ...config,
      PAYMENT_PROVIDER: 'http',
      PAYMENT_PROVIDER_URL: `http://127.0.0.1:${port}/charges`,
    } as AppConfig);
    try {
      const sale = await createActiveSale(api.url, admin, { stock: 3, price: 2500 });
      const u = shopper();
      const orderId = await bought(u, sale.id);
      await reach(orderId, 'AWAITING_PAYMENT');
      const payThere = (key: string) =>
        request<OrderBody>(paying.url, 'POST', `/orders/${orderId}/pay`, {
          token: u.token,
          headers: { 'idempotency-key': key },
        });
      const declined = await payThere('card-1');
      expect(declined.status).toBe(402);
      expect(declined.body).toMatchObject({ code: 'PAYMENT_DECLINED' });
      expect(await orderRow(orderId)).toMatchObject({ status: 'AWAITING_PAYMENT' });
      answer = 200;
      const [ok, retry] = await Promise.all([payThere('card-2'), payThere('card-2')]);
      expect([ok.status, retry.status]).toEqual([200, 200]);
      expect(ok.body).toMatchObject({ status: 'PAID' });
      expect(charges).toEqual([
        // scoped to the order, so the same client key on another order is another charge
        { key: `order-${orderId}-card-1`, amount: 2500 },
        { key: `order-${orderId}-card-2`, amount: 2500 },
      ]);
      const [payment] = await query<{ reference: string; provider: string }>(
        db.url,
        'SELECT reference, provider FROM payments WHERE order_id = $1',
        [orderId],
      );
      expect(payment).toEqual({ reference: 'ch_2', provider: 'http' });
    } finally {
      await paying.close();
      provider.closeAllConnections();
      await new Promise<void>((resolve) => provider.close(() => resolve()));
    }
  });

  it('cancel: stock back once (Postgres and gate); cancel twice is a no-op; pay after cancel is 409; admin may cancel', async () => {
    const sale = await createActiveSale(api.url, admin, { stock: 5 });
    const u = shopper();
    const orderId = await bought(u, sale.id);
    await reach(orderId, 'AWAITING_PAYMENT');
    expect(await available(db.url, sale.id)).toBe(4);

    const [a, b] = await Promise.all([cancel(u, orderId), cancel(u, orderId)]);
    for (const res of [a, b]) {
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: 'CANCELLED', failureReason: 'CANCELLED_BY_REQUEST' });
    }
    expect((await cancel(u, orderId)).status).toBe(200);
    const late = await pay(u, orderId);
    expect(late.status).toBe(409);
    expect(late.body).toMatchObject({ code: 'ORDER_NOT_PAYABLE' });

    await waitFor(
      'the stock of record back',
      () => available(db.url, sale.id),
      (n) => n === 5,
    );
    await waitFor(
      'the gate back',
      () => gateReads.remaining(sale.id),
      (r) => r === 5,
    );
    expect(await reservation(orderId)).toBe('RETURNED');
    expect((await events(orderId))[EventName.OrderCancelled]).toBe(1);
    // The buyer's count went back too: the same shopper (limit 1) may buy again.
    const again = await bought(u, sale.id);
    await reach(again, 'AWAITING_PAYMENT');

    const byAdmin = await cancel(admin, again);
    expect(byAdmin.status).toBe(200);
    expect(byAdmin.body).toMatchObject({ status: 'CANCELLED' });

    const messages = await waitFor(
      'the cancellation messages',
      () =>
        query<{ channel: string; content: { text: string } }>(
          db.url,
          `SELECT channel, content FROM notifications WHERE order_id = $1 AND kind = 'order.cancelled' ORDER BY channel`,
          [orderId],
        ),
      (rows) => rows.length === 2,
    );
    expect(messages.map((m) => m.channel)).toEqual(['EMAIL', 'SMS']);
    for (const m of messages) expect(m.content.text).toContain('cancelled at your request');

    // The stats group every status, PAID and CANCELLED included.
    const payer = shopper();
    const paidId = await bought(payer, sale.id);
    await reach(paidId, 'AWAITING_PAYMENT');
    expect((await pay(payer, paidId)).status).toBe(200);
    const stats = await request<{ ordersByStatus: Record<string, number> }>(
      api.url,
      'GET',
      `/admin/sales/${sale.id}/stats`,
      { token: admin.token },
    );
    expect(stats.body.ordersByStatus).toMatchObject({ PAID: 1, CANCELLED: 2, AWAITING_PAYMENT: 0 });
  });

  it('payment timeout: an unpaid order is cancelled at its deadline, its stock returns and the next buyer gets it', async () => {
    const sale = await createActiveSale(api.url, admin, { stock: 1, paymentWindowSeconds: 1 });
    const [late, nextBuyer] = [shopper(), shopper()];
    const orderId = await bought(late, sale.id);
    await reach(orderId, 'AWAITING_PAYMENT');
    expect((await buy(api.url, nextBuyer, sale.id)).body).toMatchObject({ code: 'SOLD_OUT' });

    await reach(orderId, 'CANCELLED', 10_000);
    expect(await orderRow(orderId)).toMatchObject({ failure_reason: 'PAYMENT_TIMEOUT' });
    expect((await pay(late, orderId)).body).toMatchObject({ code: 'ORDER_NOT_PAYABLE' });
    await waitFor(
      'the gate back',
      () => gateReads.remaining(sale.id),
      (r) => r === 1,
    );
    const nextId = await bought(nextBuyer, sale.id);
    await reach(nextId, 'AWAITING_PAYMENT');
    expect(await available(db.url, sale.id)).toBe(0);
    expect((await pay(nextBuyer, nextId)).status).toBe(200);

    const sms = await waitFor(
      'the timeout SMS',
      () =>
        query<{ content: { text: string } }>(
          db.url,
          `SELECT content FROM notifications WHERE order_id = $1 AND kind = 'order.cancelled' AND channel = 'SMS'`,
          [orderId],
        ),
      (rows) => rows.length === 1,
    );
    expect(sms[0]!.content.text).toContain('not paid by its payment deadline');
  });

  it('pay and timeout at the same moment, 100 times: each order PAID or CANCELLED, never both; stock conserved', async () => {
    const stock = 100;
    // A window long enough for all 100 to be reserved before the first deadline, also on a busy machine.
    const sale = await createActiveSale(api.url, admin, { stock, paymentWindowSeconds: 8 });
    const buyers = Array.from({ length: stock }, () => shopper());
    const admitted = await Promise.all(buyers.map((u) => buy(api.url, u, sale.id)));
    expect(admitted.every((a) => a.status === 202)).toBe(true);
    // Every order confirmed (on a loaded machine the first deadlines may pass before the last confirmation).
    await waitFor(
      'all AWAITING_PAYMENT (or already expired)',
      () => statusCounts(db.url, sale.id),
      (c) => (c.AWAITING_PAYMENT ?? 0) + (c.CANCELLED ?? 0) === stock,
    );
    const rows = await query<{ id: string; user_id: string; deadline: string }>(
      db.url,
      'SELECT id, user_id, extract(epoch FROM payment_deadline) * 1000 AS deadline FROM orders WHERE sale_id = $1',
      [sale.id],
    );
    const byUser = new Map(buyers.map((u) => [u.id, u]));
    // Each payment is fired within ±40 ms of its order's deadline, when its expiry job fires too.
    const answers = await Promise.all(
      rows.map(
        (r) =>
          new Promise<{ id: string; status: number; code?: string }>((resolve, reject) => {
            const at = Number(r.deadline) + (Math.random() * 80 - 40);
            setTimeout(
              () => {
                pay(byUser.get(r.user_id)!, r.id).then(
                  (res) => resolve({ id: r.id, status: res.status, code: res.body.code }),
                  reject,
                );
              },
              Math.max(0, at - Date.now()),
            );
          }),
      ),
    );
    const counts = await waitFor(
      'every order PAID or CANCELLED',
      () => statusCounts(db.url, sale.id),
      (c) => (c.PAID ?? 0) + (c.CANCELLED ?? 0) === stock,
      20_000,
    );
    const paid = counts.PAID ?? 0;
    const statuses = new Map(
      (
        await query<{ id: string; status: string }>(db.url, 'SELECT id, status FROM orders WHERE sale_id = $1', [
          sale.id,
        ])
      ).map((r) => [r.id, r.status]),
    );
    for (const a of answers) {
      if (a.status === 200) expect(statuses.get(a.id)).toBe('PAID');
      else {
        expect(a).toMatchObject({ status: 409, code: 'ORDER_NOT_PAYABLE' });
        expect(statuses.get(a.id)).toBe('CANCELLED');
      }
    }
    const outcomes = new Map<string, number>();
    for (const e of await outboxEventsOf(
      db.url,
      rows.map((r) => r.id),
    )) {
      if (e.type === 'order.paid' || e.type === 'order.cancelled') {
        outcomes.set(e.payload.orderId, (outcomes.get(e.payload.orderId) ?? 0) + 1);
      }
    }
    expect(outcomes.size).toBe(stock);
    expect([...outcomes.values()].every((n) => n === 1)).toBe(true);
    const [{ n: payments }] = (await query<{ n: string }>(
      db.url,
      'SELECT count(*) AS n FROM payments p JOIN orders o ON o.id = p.order_id WHERE o.sale_id = $1',
      [sale.id],
    )) as [{ n: string }];
    expect(Number(payments)).toBe(paid);
    // Conservation: what was not paid is back, in Postgres and in the gate, exactly once.
    await waitFor(
      'the stock of record',
      () => available(db.url, sale.id),
      (n) => n === stock - paid,
    );
    await waitFor(
      'the gate',
      () => gateReads.remaining(sale.id),
      (r) => r === stock - paid,
    );
    const returned = await query<{ n: string }>(
      db.url,
      `SELECT count(*) AS n FROM inventory_reservations WHERE sale_id = $1 AND status = 'RETURNED'`,
      [sale.id],
    );
    expect(Number(returned[0]!.n)).toBe(stock - paid);
    console.log(`pay-vs-timeout race: ${paid} PAID, ${stock - paid} CANCELLED`);
  });

  it('a restock (cancellation) clears the sold-out flag on a second API process', async () => {
    const second = await startApi(config);
    try {
      const sale = await createActiveSale(api.url, admin, { stock: 1 });
      const [holder, waiting] = [shopper(), shopper()];
      const orderId = await bought(holder, sale.id);
      const flags = second.app.get(SoldOutFlags);
      const refused = await buy(second.url, waiting, sale.id);
      expect(refused.body).toMatchObject({ code: 'SOLD_OUT' });
      await waitFor(
        'the sold-out flag on the second API',
        () => Promise.resolve(flags.isSoldOut(sale.id)),
        (f) => f,
      );
      await reach(orderId, 'AWAITING_PAYMENT');
      expect((await cancel(holder, orderId)).status).toBe(200);
      await waitFor(
        'the flag cleared by the restock news',
        () => Promise.resolve(flags.isSoldOut(sale.id)),
        (f) => !f,
      );
      const res = await buy(second.url, waiting, sale.id);
      expect(res.status).toBe(202);
      await reach(res.body.orderId!, 'AWAITING_PAYMENT');
    } finally {
      await second.close();
    }
  });
  it('SSE: a stream ends at PAID, another at CANCELLED', async () => {
    const sale = await createActiveSale(api.url, admin, { stock: 5 });
    /** Opens the stream, waits for its first status, then acts; returns every status until the server ends it. */
    const watchWhile = async (u: TestUser, id: string, act: () => Promise<unknown>): Promise<string[]> => {
      const res = await fetch(`${api.url}/orders/${id}/events`, { headers: { authorization: `Bearer ${u.token}` } });
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let text = '';
      let acted = false;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
        if (!acted && text.includes('"status"')) {
          acted = true;
          await act();
        }
      }
      return [...text.matchAll(/"status":"([A-Z_]+)"/g)].map((m) => m[1]!);
    };
    const payer = shopper();
    const paidId = await bought(payer, sale.id);
    await reach(paidId, 'AWAITING_PAYMENT');
    expect(await watchWhile(payer, paidId, () => pay(payer, paidId))).toEqual(['AWAITING_PAYMENT', 'PAID']);

    const canceller = shopper();
    const cancelledId = await bought(canceller, sale.id);
    await reach(cancelledId, 'AWAITING_PAYMENT');
    expect(await watchWhile(canceller, cancelledId, () => cancel(canceller, cancelledId))).toEqual([
      'AWAITING_PAYMENT',
      'CANCELLED',
    ]);
  });
});
