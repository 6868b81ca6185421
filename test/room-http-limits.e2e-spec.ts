import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { closeWithin } from '../src/infra/lifecycle.js';
import type { QueueView } from '../src/room/room.service.js';
import { roomSale } from '../src/room/room-sale.js';
import { RoomStore } from '../src/room/room.store.js';
import { SaleLookup } from '../src/sales/sale-lookup.js';
import { createActiveSale } from './support/buy.js';
import { startFixture, type ApiFixture } from './support/fixture.js';
import { request } from './support/http.js';
import type { TestUser } from './support/users.js';
import { waitFor } from './support/wait-for.js';

jest.setTimeout(120_000);

type Queue = QueueView & { code?: string };

/**
 * The room's limits as a client meets them over HTTP: the queue's length cap
 * (503 QUEUE_FULL with Retry-After), joining a sale that has ended (409
 * QUEUE_CLOSED), and an admin's live change of the admission rate reaching
 * the admitter (its rate measured before and after).
 */
describe('waiting room over HTTP: full, closed, a live rate change', () => {
  let f: ApiFixture;
  let url: string;
  let next = 0;

  beforeAll(async () => {
    f = await startFixture('roomhttp', {
      users: 12,
      worker: 'ops,promotions',
      env: { ROOM_TICK_MS: '50' },
    });
    url = f.api.url;
  });

  afterAll(async () => {
    if (f) await closeWithin(f.close(), 30_000);
  });

  const shoppers = (n: number): TestUser[] => {
    const taken = f.users.slice(next, next + n);
    next += n;
    if (taken.length !== n) throw new Error('the suite needs more shoppers');
    return taken;
  };
  /** A plain join (no body: answered at the API's door when it can be) and one with a body (the full route). */
  const join = (user: TestUser, saleId: string) =>
    request<Queue>(url, 'POST', `/sales/${saleId}/queue`, { token: user.token });
  const joinByRoute = (user: TestUser, saleId: string) =>
    request<Queue>(url, 'POST', `/sales/${saleId}/queue`, { token: user.token, body: {} });
  const poll = (user: TestUser, saleId: string) =>
    request<Queue>(url, 'GET', `/sales/${saleId}/queue`, { token: user.token });
  const admin = (method: string, path: string, body?: unknown) =>
    request<Record<string, unknown>>(url, method, path, { token: f.admin.token, body });

  it('beyond maxQueue a join is refused 503 QUEUE_FULL with Retry-After; the queue does not grow; a place freed is taken', async () => {
    const sale = await createActiveSale(url, f.admin, {
      waitingRoom: { admitPerSecond: 1, maxActive: 10, claimSeconds: 60, maxQueue: 2, paused: true },
    });
    const [a, b, c, d] = shoppers(4) as [TestUser, TestUser, TestUser, TestUser];
    expect((await join(a, sale.id)).body).toMatchObject({ state: 'waiting', position: 1 });
    expect((await joinByRoute(b, sale.id)).body).toMatchObject({ state: 'waiting', position: 2 });
    for (const [how, send] of [
      ['plain', join],
      ['route', joinByRoute],
    ] as const) {
      for (const u of [c, d]) {
        const full = await send(u, sale.id);
        expect({ how, status: full.status, code: full.body.code }).toEqual({ how, status: 503, code: 'QUEUE_FULL' });
        const retryAfter = full.headers.get('retry-after');
        expect(retryAfter).toMatch(/^[1-9][0-9]*$/);
        expect(Number(retryAfter)).toBeLessThanOrEqual(120);
      }
    }
    // The refused are not in the room; the queue holds the two; a member's join (another tab) keeps the place.
    expect((await poll(c, sale.id)).body.state).toBe('left');
    const store = f.api.app.get(RoomStore);
    expect(await store.redis.zcard(store.keys(sale.id)[1]!)).toBe(2);
    expect((await join(b, sale.id)).body).toMatchObject({ state: 'waiting', position: 2 });
    // A place freed (a leaver) is a place for the next join.
    expect((await request<Queue>(url, 'DELETE', `/sales/${sale.id}/queue`, { token: a.token })).body.state).toBe(
      'left',
    );
    expect((await join(c, sale.id)).body).toMatchObject({ state: 'waiting', position: 2 });
    expect((await join(d, sale.id)).status).toBe(503);
  });

  it('joining a sale that has ended is refused 409 QUEUE_CLOSED (ended by the admin, or past its end); its waiters see closed', async () => {
    const [a, b, c] = shoppers(3) as [TestUser, TestUser, TestUser];
    const room = { admitPerSecond: 1, maxActive: 10, claimSeconds: 60, paused: true };

    const ended = await createActiveSale(url, f.admin, { waitingRoom: room });
    expect((await join(a, ended.id)).body.state).toBe('waiting');
    expect((await admin('POST', `/admin/sales/${ended.id}/end`)).status).toBe(200);
    for (const send of [join, joinByRoute]) {
      const closed = await send(b, ended.id);
      expect([closed.status, closed.body.code]).toEqual([409, 'QUEUE_CLOSED']);
    }
    // The waiter already in: told closed, not left waiting.
    await waitFor(
      'the waiter told closed',
      async () => (await poll(a, ended.id)).body.state,
      (s) => s === 'closed',
      10_000,
    );

    const endsAt = Date.now() + 2500;
    const running = await createActiveSale(url, f.admin, { waitingRoom: room, endsAt: new Date(endsAt).toISOString() });
    expect((await join(a, running.id)).body.state).toBe('waiting');
    await waitFor(
      'the end of the sale',
      async () => Date.now(),
      (now) => now > endsAt + 50,
    );
    for (const send of [join, joinByRoute]) {
      const closed = await send(c, running.id);
      expect([closed.status, closed.body.code]).toEqual([409, 'QUEUE_CLOSED']);
    }
    expect((await poll(a, running.id)).body.state).toBe('closed');
  });

  it('an admin’s live change of admitPerSecond takes effect at the admitter (rate measured before and after)', async () => {
    const sale = await createActiveSale(url, f.admin, {
      stock: 100_000,
      waitingRoom: { admitPerSecond: 4, maxActive: 100_000, claimSeconds: 600 },
    });
    const store = f.api.app.get(RoomStore);
    const room = roomSale((await f.api.app.get(SaleLookup).find(sale.id))!, 900)!;
    // 600 waiters (joined straight into Redis: HTTP sign-ups would cost more than the test), none gone meanwhile.
    for (let i = 0; i < 600; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, j) => store.join(room, `w-${String(i + j).padStart(4, '0')}`, 600_000)),
      );
    }
    const [cfgKey, , , , , , , statsKey] = store.keys(sale.id) as [string, ...string[]];
    const admittedSoFar = async () => Number((await store.redis.hget(statsKey!, 'admitted')) ?? 0);
    const rateNow = async () => Number((await store.redis.hget(cfgKey, 'rateNow')) ?? 0);
    /** Admissions per second over a window of at least `ms` of wall-clock time. */
    const measure = async (ms: number) => {
      const [n0, t0] = [await admittedSoFar(), performance.now()];
      await new Promise((r) => setTimeout(r, ms));
      const [n1, t1] = [await admittedSoFar(), performance.now()];
      return ((n1 - n0) * 1000) / (t1 - t0);
    };
    await waitFor('the admitter’s first turns at 4/s', rateNow, (r) => r === 4);
    const before = await measure(3000);

    const changedAt = Date.now();
    const changed = await admin('PATCH', `/admin/sales/${sale.id}`, { waitingRoom: { admitPerSecond: 40 } });
    expect(changed.body.waitingRoom).toMatchObject({ admitPerSecond: 40, maxActive: 100_000 });
    await waitFor('the admitter at 40/s', rateNow, (r) => r === 40, 15_000);
    const tookMs = Date.now() - changedAt;
    const after = await measure(3000);

    // The measuring windows are fixed lengths of time, not waits for an outcome.
    // Generous bounds (a loaded machine delays turns; the budget accrues with the time between them).
    const held = before >= 1.5 && before <= 8 && after >= 20 && after <= 60 && after / before > 4 && tookMs < 10_000;
    expect({ before, after, tookMs, held }).toMatchObject({ held: true });
  });
});
