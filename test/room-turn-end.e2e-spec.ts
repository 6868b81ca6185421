import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { closeWithin } from '../src/infra/lifecycle.js';
import type { OrderView } from '../src/orders/orders.service.js';
import { SoldOutFlags } from '../src/purchase/sold-out-flags.js';
import type { QueueView } from '../src/room/room.service.js';
import { RoomStore } from '../src/room/room.store.js';
import { buy, createActiveSale, query, settled } from './support/buy.js';
import { startFixture, type ApiFixture } from './support/fixture.js';
import { request } from './support/http.js';
import type { TestUser } from './support/users.js';
import { waitFor } from './support/wait-for.js';

jest.setTimeout(120_000);

type Queue = QueueView & { code?: string };

/**
 * A shopper's turn in the waiting room ends when their purchase does (paid,
 * cancelled, payment window over, or refused at the gate), and their slot of
 * `maxActive` goes to the next in line at once; units that come back after a
 * sell-out go to the waiters who were told `sold_out`, in queue order; one
 * admission sent twice at once buys once. Each scenario runs with a slot
 * bound that only the rule under test can free before the admission's claim
 * window (60 s) or the room's own fallback for a payment window (window +
 * 60 s) would, and the waits here are far shorter than those.
 */
describe('waiting room: a turn that ends frees its slot', () => {
  let f: ApiFixture;
  let url: string;
  let store: RoomStore;
  let next = 0;

  beforeAll(async () => {
    f = await startFixture('roomend', {
      users: 30,
      worker: 'ops,promotions,orders,inventory,timeouts',
      env: { ROOM_TICK_MS: '50' },
    });
    url = f.api.url;
    store = f.api.app.get(RoomStore);
  });

  afterAll(async () => {
    if (f) await closeWithin(f.close(), 30_000);
  });

  /** The next shoppers of the suite's pool (each scenario has its own). */
  const shoppers = (n: number): TestUser[] => {
    const taken = f.users.slice(next, next + n);
    next += n;
    if (taken.length !== n) throw new Error('the suite needs more shoppers');
    return taken;
  };
  const join = (user: TestUser, saleId: string) =>
    request<Queue>(url, 'POST', `/sales/${saleId}/queue`, { token: user.token });
  const poll = (user: TestUser, saleId: string) =>
    request<Queue>(url, 'GET', `/sales/${saleId}/queue`, { token: user.token });
  const admin = (method: string, path: string, body?: unknown) =>
    request<Record<string, unknown>>(url, method, path, { token: f.admin.token, body });
  const roomSale = (room: Record<string, unknown>, overrides: Record<string, unknown> = {}) =>
    createActiveSale(url, f.admin, { waitingRoom: { claimSeconds: 60, ...room }, ...overrides });

  /** Polls until the shopper's state is one of `states` (refresh times ignored: the test wants it fast). */
  const stateOf = (user: TestUser, saleId: string, states: string[], timeoutMs = 20_000) =>
    waitFor(
      `${user.email} ${states.join('|')}`,
      async () => (await poll(user, saleId)).body,
      (b) => states.includes(b.state),
      timeoutMs,
    );
  const admitted = async (user: TestUser, saleId: string, timeoutMs?: number) =>
    (await stateOf(user, saleId, ['admitted'], timeoutMs)).admission!.token;

  /**
   * Waits for the admitter to take turns over the next 300 ms of Redis's
   * clock (its last turn, in the room's settings hash, is past then): what
   * it would have done by now, it has done.
   */
  const turnsPassed = async (saleId: string) => {
    const [s, us] = await store.redis.time();
    const from = Number(s) * 1000 + Math.floor(Number(us) / 1000);
    await waitFor(
      'the admitter took turns',
      async () => Number((await store.redis.hget(store.keys(saleId)[0]!, 'last')) ?? 0),
      (last) => last >= from + 300,
    );
  };
  const order = (user: TestUser, id: string) => request<OrderView>(url, 'GET', `/orders/${id}`, { token: user.token });
  const orderReached = (user: TestUser, id: string, status: string, timeoutMs = 30_000) =>
    waitFor(
      `order ${id} ${status}`,
      async () => (await order(user, id)).body.status,
      (s) => s === status,
      timeoutMs,
    );

  /**
   * maxActive 1: `first` is let in, `second` waits; `first` buys with the
   * admission and holds the slot while their order awaits payment.
   */
  async function oneSlotTaken(overrides: Record<string, unknown> = {}) {
    const sale = await roomSale({ admitPerSecond: 100, maxActive: 1 }, { stock: 10, ...overrides });
    const [first, second] = shoppers(2) as [TestUser, TestUser];
    expect((await join(first, sale.id)).body.position).toBe(1);
    expect((await join(second, sale.id)).body.position).toBe(2);
    const pass = await admitted(first, sale.id);
    const bought = await buy(url, first, sale.id, { quantity: 1 }, { 'admission-token': pass });
    expect(bought.status).toBe(202);
    const orderId = bought.body.orderId!;
    await orderReached(first, orderId, 'AWAITING_PAYMENT');
    // The slot is held while the order awaits payment: turn after turn, the next one waits.
    await turnsPassed(sale.id);
    expect((await poll(second, sale.id)).body).toMatchObject({ state: 'waiting', position: 1 });
    expect((await poll(first, sale.id)).body.state).toBe('used');
    return { sale, first, second, orderId };
  }

  it('paid: the order paid frees the slot, the next waiter is let in', async () => {
    const { sale, first, second, orderId } = await oneSlotTaken();
    const paid = await request<OrderView>(url, 'POST', `/orders/${orderId}/pay`, { token: first.token });
    expect(paid.body.status).toBe('PAID');
    await admitted(second, sale.id);
    expect((await poll(first, sale.id)).body.state).toBe('left');
  });

  it('cancelled: the order cancelled by its shopper frees the slot, the next waiter is let in', async () => {
    const { sale, first, second, orderId } = await oneSlotTaken();
    const cancelled = await request<OrderView>(url, 'POST', `/orders/${orderId}/cancel`, { token: first.token });
    expect(cancelled.body.status).toBe('CANCELLED');
    await admitted(second, sale.id);
    expect((await poll(first, sale.id)).body.state).toBe('left');
  });

  it('payment window over: the order timed out frees the slot (long before the room’s own fallback)', async () => {
    // A 4 s window: the room's fallback for a lost event is the window + 60 s, so only the
    // timeout's event can let the next shopper in within the 30 s waited for here.
    const { sale, first, second, orderId } = await oneSlotTaken({ paymentWindowSeconds: 4 });
    const boughtAt = Date.now();
    await orderReached(first, orderId, 'CANCELLED', 30_000);
    expect((await order(first, orderId)).body).toMatchObject({ failureReason: 'PAYMENT_TIMEOUT' });
    await admitted(second, sale.id, 30_000 - (Date.now() - boughtAt));
  });

  it('refused LIMIT_EXCEEDED at the gate: the refusal frees the slot, the next waiter is let in', async () => {
    const sale = await roomSale({ admitPerSecond: 100, maxActive: 1 }, { stock: 10, perUserLimit: 1 });
    const [first, second] = shoppers(2) as [TestUser, TestUser];
    await join(first, sale.id);
    await join(second, sale.id);
    const pass = await admitted(first, sale.id);
    await turnsPassed(sale.id);
    expect((await poll(second, sale.id)).body.state).toBe('waiting');
    const refused = await buy(url, first, sale.id, { quantity: 2 }, { 'admission-token': pass });
    expect([refused.status, refused.body.code]).toEqual([409, 'LIMIT_EXCEEDED']);
    await admitted(second, sale.id);
    expect((await poll(first, sale.id)).body.state).toBe('left');
  });

  /**
   * Stock 2, maxActive 2: `a` and `b` are let in, `c` waits; `a` buys both
   * units; `b`'s purchase is refused SOLD_OUT. One unit more (admin raises
   * the stock) can go to `c` only once `b`'s slot is free: `a` (buying) and
   * `b` (an unused admission) would otherwise fill both slots and promise
   * the unit.
   */
  async function soldOutRefusal(send: (b: TestUser, saleId: string, pass: string) => Promise<void>) {
    const sale = await roomSale({ admitPerSecond: 100, maxActive: 2 }, { stock: 2, perUserLimit: 2 });
    const [a, b, c] = shoppers(3) as [TestUser, TestUser, TestUser];
    for (const u of [a, b, c]) await join(u, sale.id);
    const passA = await admitted(a, sale.id);
    const passB = await admitted(b, sale.id);
    expect((await buy(url, a, sale.id, { quantity: 2 }, { 'admission-token': passA })).status).toBe(202);
    await send(b, sale.id, passB);
    expect((await poll(b, sale.id)).body.state).toBe('left');
    expect((await admin('PATCH', `/admin/sales/${sale.id}`, { stock: 3 })).status).toBe(200);
    await admitted(c, sale.id);
  }

  it('refused SOLD_OUT by the gate: the refusal frees the slot, a unit that comes back goes to the next waiter', async () => {
    await soldOutRefusal(async (b, saleId, pass) => {
      // With an Idempotency-Key the purchase always asks the gate (no sold-out shortcut).
      const refused = await buy(
        url,
        b,
        saleId,
        { quantity: 1 },
        { 'admission-token': pass, 'idempotency-key': randomUUID() },
      );
      expect([refused.status, refused.body.code]).toEqual([409, 'SOLD_OUT']);
      // endSoon is not awaited by the purchase: wait for the slot to be given back.
      await stateOf(b, saleId, ['left'], 10_000);
    });
  });

  it('refused SOLD_OUT by the API’s sold-out flag (no gate call): the refusal frees the slot too', async () => {
    await soldOutRefusal(async (b, saleId, pass) => {
      const flags = f.api.app.get(SoldOutFlags);
      await waitFor(
        'the API knows the sale is sold out',
        async () => flags.isSoldOut(saleId),
        (yes) => yes,
      );
      const refused = await buy(url, b, saleId, { quantity: 1 }, { 'admission-token': pass });
      expect([refused.status, refused.body.code]).toEqual([409, 'SOLD_OUT']);
      await stateOf(b, saleId, ['left'], 10_000);
    });
  });

  /**
   * Stock 1: `a` buys the unit; `w1` and `w2` (in that queue order) are told
   * sold_out; the unit comes back (`giveBack`); `w1` is let in and buys it,
   * `w2` waits again (no unit for them) instead of being admitted.
   */
  async function returnAfterSellOut(
    overrides: Record<string, unknown>,
    giveBack: (a: TestUser, orderId: string) => Promise<void>,
  ) {
    const sale = await roomSale({ admitPerSecond: 100, maxActive: 10 }, { stock: 1, ...overrides });
    const [a, w1, w2, late] = shoppers(4) as [TestUser, TestUser, TestUser, TestUser];
    for (const u of [a, w1, w2]) await join(u, sale.id);
    const passA = await admitted(a, sale.id);
    const bought = await buy(url, a, sale.id, { quantity: 1 }, { 'admission-token': passA });
    expect(bought.status).toBe(202);
    expect((await stateOf(w1, sale.id, ['sold_out'])).state).toBe('sold_out');
    expect((await stateOf(w2, sale.id, ['sold_out'])).state).toBe('sold_out');
    expect((await join(late, sale.id)).body.code).toBe('QUEUE_CLOSED');
    await giveBack(a, bought.body.orderId!);
    const passW1 = await admitted(w1, sale.id, 30_000);
    // One unit back, promised to w1: w2 waits (back to waiting, first in line), never admitted meanwhile.
    await turnsPassed(sale.id);
    expect((await poll(w2, sale.id)).body).toMatchObject({ state: 'waiting', position: 1 });
    const second = await buy(url, w1, sale.id, { quantity: 1 }, { 'admission-token': passW1 });
    expect(second.status).toBe(202);
    await orderReached(w1, second.body.orderId!, 'AWAITING_PAYMENT');
    expect((await stateOf(w2, sale.id, ['sold_out'])).state).toBe('sold_out');
  }

  it('sold out, then a cancellation: the unit goes to the first sold_out waiter in queue order', async () => {
    await returnAfterSellOut({}, async (a, orderId) => {
      await orderReached(a, orderId, 'AWAITING_PAYMENT');
      const cancelled = await request<OrderView>(url, 'POST', `/orders/${orderId}/cancel`, { token: a.token });
      expect(cancelled.body.status).toBe('CANCELLED');
    });
  });

  it('sold out, then a payment window over: the unit goes to the first sold_out waiter in queue order', async () => {
    await returnAfterSellOut({ paymentWindowSeconds: 5 }, async (a, orderId) => {
      await orderReached(a, orderId, 'CANCELLED', 30_000);
    });
  });

  it('one admission sent several times at once buys once: one 202, the rest 409 ADMISSION_USED, one order each', async () => {
    const sale = await roomSale({ admitPerSecond: 100, maxActive: 100 }, { stock: 50, perUserLimit: 5 });
    const buyers = shoppers(4);
    for (const u of buyers) await join(u, sale.id);
    const passes = await Promise.all(buyers.map((u) => admitted(u, sale.id)));
    // Every shopper's admission sent 3 times, all 12 requests in flight together.
    const answers = await Promise.all(
      buyers.flatMap((u, i) =>
        [0, 1, 2].map(() => buy(url, u, sale.id, { quantity: 1 }, { 'admission-token': passes[i]! })),
      ),
    );
    for (const [i] of buyers.entries()) {
      const mine = answers.slice(i * 3, i * 3 + 3).map((r) => [r.status, r.body.code ?? r.body.status]);
      expect(mine.sort()).toEqual([
        [202, 'QUEUED'],
        [409, 'ADMISSION_USED'],
        [409, 'ADMISSION_USED'],
      ]);
    }
    const rows = await waitFor(
      'the orders persisted',
      () =>
        query<{ user_id: string; n: string }>(
          f.db.url,
          'SELECT user_id, count(*)::text AS n FROM orders WHERE sale_id = $1 GROUP BY user_id',
          [sale.id],
        ),
      (r) => r.length === buyers.length,
    );
    expect(Object.fromEntries(rows.map((r) => [r.user_id, r.n]))).toEqual(
      Object.fromEntries(buyers.map((u) => [u.id, '1'])),
    );
    // Nothing more comes: every ticket the gate admitted is an order by now.
    await settled(url, f.admin, f.db.url, sale.id);
    const [again] = await query<{ n: string }>(f.db.url, 'SELECT count(*)::text AS n FROM orders WHERE sale_id = $1', [
      sale.id,
    ]);
    expect(again!.n).toBe(String(buyers.length));
  });
});
