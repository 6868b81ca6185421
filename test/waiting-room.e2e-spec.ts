import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { RoomStore } from '../src/room/room.store.js';
import { RoomTokens } from '../src/room/room-tokens.js';
import { RoomService, type QueueView } from '../src/room/room.service.js';
import type { SaleView } from '../src/sales/sale-view.js';
import { buy, createActiveSale, query } from './support/buy.js';
import { startFixture, type ApiFixture } from './support/fixture.js';
import { request } from './support/http.js';
import { createUsers, type TestUser } from './support/users.js';
import { waitFor } from './support/wait-for.js';

jest.setTimeout(120_000);

type Queue = QueueView & { code?: string };

/** A response's headers but those that differ between two answers anyway. */
function stableHeaders(h: Headers): Record<string, string> {
  const kept: Record<string, string> = {};
  h.forEach((value, name) => {
    if (!['date', 'content-length', 'x-request-id', 'keep-alive'].includes(name)) kept[name] = value;
  });
  return kept;
}

describe('waiting room', () => {
  let f: ApiFixture;
  let url: string;

  beforeAll(async () => {
    f = await startFixture('room', {
      users: 40,
      worker: 'ops,promotions,orders,inventory,timeouts',
      env: { ROOM_TICK_MS: '50' },
    });
    url = f.api.url;
  });

  afterAll(async () => {
    await f?.close();
  });

  const join = (user: TestUser, saleId: string) =>
    request<Queue>(url, 'POST', `/sales/${saleId}/queue`, { token: user.token });
  const poll = (user: TestUser, saleId: string, queueToken?: string | null) =>
    request<Queue>(url, 'GET', `/sales/${saleId}/queue`, {
      token: user.token,
      headers: queueToken ? { 'queue-token': queueToken } : {},
    });
  const leave = (user: TestUser, saleId: string) =>
    request<Queue>(url, 'DELETE', `/sales/${saleId}/queue`, { token: user.token });
  const admin = (method: string, path: string, body?: unknown) =>
    request<Record<string, unknown>>(url, method, path, { token: f.admin.token, body });

  /** A sale with a room, started a moment ago unless told otherwise. */
  const roomSale = (room: Record<string, unknown>, overrides: Record<string, unknown> = {}) =>
    createActiveSale(url, f.admin, { waitingRoom: room, ...overrides });

  /** Polls (ignoring refresh times: the test wants the next state fast) until the shopper is admitted. */
  const admitted = (user: TestUser, saleId: string, timeoutMs = 30_000) =>
    waitFor(
      `${user.email} admitted`,
      async () => (await poll(user, saleId)).body,
      (b) => b.state === 'admitted',
      timeoutMs,
    );

  it('a sale shows its room; bad settings get 400 VALIDATION_FAILED', async () => {
    const sale = await roomSale({ admitPerSecond: 100, maxActive: 50, claimSeconds: 30 });
    expect(sale.waitingRoom).toEqual({
      admitPerSecond: 100,
      maxActive: 50,
      claimSeconds: 30,
      prequeueOpensAt: null,
      maxQueue: null,
      paused: false,
    });
    const got = await admin('GET', `/admin/sales/${sale.id}`);
    expect(got.body.waitingRoom).toEqual(sale.waitingRoom);
    const store = await request<{ waitingRoom: unknown }>(url, 'GET', `/sales/${sale.id}`);
    expect(store.body.waitingRoom).toEqual(sale.waitingRoom);

    for (const bad of [
      { admitPerSecond: 'fast' },
      { admitPerSecond: 0 },
      { maxActive: -1 },
      { claimSeconds: 1 },
      { prequeueOpensAt: 'tomorrow' },
      'yes',
    ]) {
      const res = await admin('POST', '/admin/sales', {
        name: 'x',
        sku: 'X-1',
        price: 100,
        stock: 5,
        perUserLimit: 1,
        startsAt: new Date(Date.now() + 60_000).toISOString(),
        endsAt: new Date(Date.now() + 3_600_000).toISOString(),
        waitingRoom: bad,
      });
      expect({ bad, status: res.status, code: res.body.code }).toEqual({ bad, status: 400, code: 'VALIDATION_FAILED' });
    }
    const late = await admin('PATCH', `/admin/sales/${sale.id}`, {
      waitingRoom: { prequeueOpensAt: new Date(Date.now() + 60_000).toISOString() },
    });
    expect(late.status).toBe(400);

    // Partial update keeps the rest; null removes the room.
    const faster = await admin('PATCH', `/admin/sales/${sale.id}`, { waitingRoom: { admitPerSecond: 'auto' } });
    expect(faster.body.waitingRoom).toMatchObject({ admitPerSecond: 'auto', maxActive: 50, claimSeconds: 30 });
    const none = await admin('PATCH', `/admin/sales/${sale.id}`, { waitingRoom: null });
    expect(none.body.waitingRoom).toBeNull();
  });

  it('joining: 404 for no sale, 409 NO_WAITING_ROOM for a sale without one, 401 signed out', async () => {
    const plain = await createActiveSale(url, f.admin, {}, false);
    expect((await join(f.users[0]!, plain.id)).body.code).toBe('NO_WAITING_ROOM');
    expect((await join(f.users[0]!, plain.id)).status).toBe(409);
    const missing = await join(f.users[0]!, '00000000-0000-4000-8000-000000000000');
    expect([missing.status, missing.body.code]).toEqual([404, 'SALE_NOT_FOUND']);
    expect((await join(f.users[0]!, 'not-a-sale')).body.code).toBe('SALE_NOT_FOUND');
    expect((await request(url, 'POST', `/sales/${plain.id}/queue`)).status).toBe(401);
  });

  it('pre-queue: joins before the start wait unordered, then are admitted at the rate; each admission buys once', async () => {
    const startsAt = Date.now() + 2500;
    const sale = await roomSale(
      { admitPerSecond: 20, maxActive: 1000, claimSeconds: 60 },
      { startsAt: new Date(startsAt).toISOString(), stock: 100 },
    );
    await admin('POST', `/admin/sales/${sale.id}/preheat`);
    const shoppers = f.users.slice(0, 10);
    const joins = await Promise.all(shoppers.map((u) => join(u, sale.id)));
    for (const j of joins) {
      expect(j.status).toBe(200);
      expect(j.body).toMatchObject({ state: 'prequeue', position: null, admission: null });
      expect(j.body.estimatedWaitSeconds.low).toBeGreaterThanOrEqual(1);
      expect(j.body.refreshAfterSeconds).toBeGreaterThanOrEqual(1);
      expect(new Date(j.body.startsAt).getTime()).toBe(startsAt);
    }
    // Idempotent: a second join keeps the place.
    expect((await join(shoppers[0]!, sale.id)).body.state).toBe('prequeue');

    // Nobody is let in before the start; a purchase without an admission is refused.
    const early = await buy(url, shoppers[0]!, sale.id, { quantity: 1 });
    expect([early.status, early.body.code]).toEqual([403, 'ADMISSION_REQUIRED']);
    await waitFor(
      'the start',
      async () => Date.now(),
      (now) => now > startsAt + 100,
    );
    const noPass = await buy(url, shoppers[0]!, sale.id, { quantity: 1 });
    expect([noPass.status, noPass.body.code]).toEqual([403, 'ADMISSION_REQUIRED']);

    const passes = await Promise.all(shoppers.map((u) => admitted(u, sale.id)));
    for (const p of passes) {
      expect(p.admission?.token).toMatch(/^[0-9a-z]+\.[0-9a-z]+\.[A-Za-z0-9_-]{22}$/);
      expect(new Date(p.admission!.expiresAt).getTime()).toBeGreaterThan(Date.now());
    }
    const [a, b] = [shoppers[0]!, shoppers[1]!];
    const tokenA = passes[0]!.admission!.token;
    // Another shopper's admission, an altered one, one for another sale: 403 ADMISSION_INVALID, nothing bought.
    const foreign = await buy(url, b, sale.id, { quantity: 1 }, { 'admission-token': tokenA });
    expect([foreign.status, foreign.body.code]).toEqual([403, 'ADMISSION_INVALID']);
    const altered = await buy(
      url,
      a,
      sale.id,
      { quantity: 1 },
      { 'admission-token': `${tokenA.slice(0, -1)}${tokenA.endsWith('A') ? 'B' : 'A'}` },
    );
    expect(altered.body.code).toBe('ADMISSION_INVALID');
    const other = await roomSale({ admitPerSecond: 10 });
    const elsewhere = await buy(url, a, other.id, { quantity: 1 }, { 'admission-token': tokenA });
    expect(elsewhere.body.code).toBe('ADMISSION_INVALID');

    const bought = await buy(url, a, sale.id, { quantity: 1 }, { 'admission-token': tokenA });
    expect(bought.status).toBe(202);
    const again = await buy(url, a, sale.id, { quantity: 1 }, { 'admission-token': tokenA });
    expect([again.status, again.body.code]).toEqual([409, 'ADMISSION_USED']);
    expect((await poll(a, sale.id)).body.state).toBe('used');

    // Every shopper buys with their own admission, concurrently; each admission buys once.
    const all = await Promise.all(
      shoppers
        .slice(1)
        .map((u, i) => buy(url, u, sale.id, { quantity: 1 }, { 'admission-token': passes[i + 1]!.admission!.token })),
    );
    expect(all.map((r) => r.status)).toEqual(shoppers.slice(1).map(() => 202));
    const persisted = await waitFor(
      'orders persisted',
      () => query<{ n: string }>(f.db.url, 'SELECT count(*)::text AS n FROM orders WHERE sale_id = $1', [sale.id]),
      (rows) => rows[0]!.n === String(shoppers.length),
    );
    expect(persisted[0]!.n).toBe('10');

    const report = await admin('GET', `/admin/sales/${sale.id}/room`);
    expect(report.status).toBe(200);
    expect(report.body).toMatchObject({ saleId: sale.id, state: 'open', waiting: 0, admitted: 0, buying: 10 });
    expect((report.body.counters as Record<string, number>).joined).toBe(10);
    expect((report.body.counters as Record<string, number>).used).toBe(10);
  });

  it('after the start: late joiners are served first come first served, behind nobody who joined later', async () => {
    const sale = await roomSale({ admitPerSecond: 5, maxActive: 1000, claimSeconds: 60, paused: true });
    const late = f.users.slice(10, 16);
    const positions: number[] = [];
    for (const u of late) {
      const j = await join(u, sale.id);
      expect(j.body.state).toBe('waiting');
      positions.push(j.body.position!);
    }
    expect(positions).toEqual([1, 2, 3, 4, 5, 6]);
    const second = await poll(late[1]!, sale.id);
    expect(second.body).toMatchObject({ state: 'waiting', position: 2, admission: null });
    expect(second.body.estimatedWaitSeconds.high).toBeGreaterThanOrEqual(second.body.estimatedWaitSeconds.low);

    // Leaving frees the place: those behind move up.
    expect((await leave(late[0]!, sale.id)).body.state).toBe('left');
    expect((await poll(late[1]!, sale.id)).body.position).toBe(1);
    expect((await poll(late[0]!, sale.id)).body.state).toBe('left');

    // Resumed: admitted in join order.
    expect((await admin('POST', `/admin/sales/${sale.id}/room/resume`)).status).toBe(200);
    const order: string[] = [];
    await waitFor(
      'all admitted',
      async () => {
        for (const u of late.slice(1)) {
          if (!order.includes(u.id) && (await poll(u, sale.id)).body.state === 'admitted') order.push(u.id);
        }
        return order.length;
      },
      (n) => n === 5,
    );
    const issued = await f.api.app.get(RoomStore).redis.hgetall(f.api.app.get(RoomStore).keys(sale.id)[4]!);
    const byIssue = Object.entries(issued)
      .sort((x, y) => Number(x[1]) - Number(y[1]) || 0)
      .map(([id]) => id);
    // Issued at non-decreasing times in queue order (several may share one turn).
    const times = late.slice(1).map((u) => Number(issued[u.id]));
    expect([...times].sort((x, y) => x - y)).toEqual(times);
    expect(byIssue).toHaveLength(5);
  });

  it('maxActive bounds admitted-and-not-done; leaving with an unused admission frees the slot', async () => {
    const sale = await roomSale({ admitPerSecond: 100, maxActive: 2, claimSeconds: 60 });
    const shoppers = f.users.slice(16, 20);
    for (const u of shoppers) await join(u, sale.id);
    await admitted(shoppers[0]!, sale.id);
    await admitted(shoppers[1]!, sale.id);
    const third = await poll(shoppers[2]!, sale.id);
    expect(third.body).toMatchObject({ state: 'waiting', position: 1 });
    // Give the admitter several turns: still nobody else.
    await new Promise((r) => setTimeout(r, 300));
    expect((await poll(shoppers[2]!, sale.id)).body.state).toBe('waiting');
    await leave(shoppers[0]!, sale.id);
    await admitted(shoppers[2]!, sale.id);
    expect((await poll(shoppers[3]!, sale.id)).body.state).toBe('waiting');
  });

  it('a poll before its refresh time is answered from the queue token, without Redis', async () => {
    const sale = await roomSale({ admitPerSecond: 1, maxActive: 1000, claimSeconds: 60, paused: true });
    const u = f.users[20]!;
    const first = await join(u, sale.id);
    expect(first.body.queueToken).toBeTruthy();
    const store = f.api.app.get(RoomStore);
    const spy = jest.spyOn(store, 'poll');
    try {
      const cached = await poll(u, sale.id, first.body.queueToken);
      expect(cached.body).toMatchObject({ state: 'waiting', position: first.body.position });
      expect(spy).not.toHaveBeenCalled();
      // A token of another shopper or a forged one is ignored: the poll reads the room.
      await poll(f.users[21]!, sale.id, first.body.queueToken);
      await poll(u, sale.id, `${first.body.queueToken!.slice(0, -2)}xx`);
      expect(spy).toHaveBeenCalledTimes(2);
    } finally {
      spy.mockRestore();
    }
  });

  it('a plain poll is answered at the door, as the full route answers it; anything else takes the route', async () => {
    const sale = await roomSale({ admitPerSecond: 1, maxActive: 1000, claimSeconds: 60, paused: true });
    const [u, other] = [f.users[28]!, f.users[29]!];
    await join(other, sale.id);
    const joined = await join(u, sale.id);
    const service = f.api.app.get(RoomService);
    const route = jest.spyOn(service, 'place');
    try {
      // The route: the same request with a query string (the door takes none).
      const viaRoute = await request<Queue>(url, 'GET', `/sales/${sale.id}/queue?via=route`, { token: u.token });
      expect(route).toHaveBeenCalledTimes(1);
      const atDoor = await poll(u, sale.id);
      expect(route).toHaveBeenCalledTimes(1);
      expect(atDoor.status).toBe(200);
      const volatile = (b: Queue) => ({ ...b, queueToken: typeof b.queueToken, estimatedWaitSeconds: null });
      expect(volatile(atDoor.body)).toEqual(volatile(viaRoute.body));
      expect(atDoor.body).toMatchObject({ state: 'waiting', position: joined.body.position });
      expect(stableHeaders(atDoor.headers)).toEqual(stableHeaders(viaRoute.headers));
      expect(atDoor.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      // From the door's queue token, early: no Redis, still not the route.
      const early = await poll(u, sale.id, atDoor.body.queueToken);
      expect(early.body).toMatchObject({ state: 'waiting', position: joined.body.position });
      expect(route).toHaveBeenCalledTimes(1);
      // Not for the door: no token (401 from the guard), a bad one, a malformed sale id, a sale with no room.
      expect((await request<Queue>(url, 'GET', `/sales/${sale.id}/queue`)).body.code).toBe('UNAUTHORIZED');
      expect((await request<Queue>(url, 'GET', `/sales/${sale.id}/queue`, { token: 'x.y.z' })).status).toBe(401);
      expect((await poll(u, 'not-a-sale')).body.code).toBe('SALE_NOT_FOUND');
      const plain = await createActiveSale(url, f.admin);
      expect((await poll(u, plain.id)).body.code).toBe('NO_WAITING_ROOM');
      // Counted in the HTTP histogram under the route's template.
      expect(await (await fetch(`${url}/metrics`)).text()).toMatch(
        /flash_http_request_duration_seconds_count\{method="GET",route="\/sales\/:id\/queue",status="200"\} [1-9]/,
      );
    } finally {
      route.mockRestore();
    }
  });

  it('a plain join is answered at the door, as the full route answers it; a room with anti-bot rules takes the route', async () => {
    const sale = await roomSale({ admitPerSecond: 1, maxActive: 1000, claimSeconds: 60, paused: true });
    const [u, other] = [f.users[32]!, f.users[33]!];
    const service = f.api.app.get(RoomService);
    const route = jest.spyOn(service, 'join');
    try {
      // The route: the same request with a query string (the door takes none); it also caches the sale.
      const viaRoute = await request<Queue>(url, 'POST', `/sales/${sale.id}/queue?via=route`, { token: other.token });
      expect(route).toHaveBeenCalledTimes(1);
      expect(viaRoute.body).toMatchObject({ state: 'waiting', position: 1 });
      const atDoor = await join(u, sale.id);
      expect(route).toHaveBeenCalledTimes(1);
      expect(atDoor.status).toBe(200);
      expect(atDoor.body).toMatchObject({ state: 'waiting', position: 2, admission: null });
      expect(Object.keys(atDoor.body).sort()).toEqual(Object.keys(viaRoute.body).sort());
      expect(stableHeaders(atDoor.headers)).toEqual(stableHeaders(viaRoute.headers));
      // Idempotent at the door too, and the route agrees with it.
      expect((await join(u, sale.id)).body.position).toBe(2);
      expect((await poll(u, sale.id)).body).toMatchObject({ state: 'waiting', position: 2 });
      expect(route).toHaveBeenCalledTimes(1);
      // A join with a body is the route's (Fastify's body rules).
      const withBody = await request<Queue>(url, 'POST', `/sales/${sale.id}/queue`, { token: u.token, body: {} });
      expect(withBody.body.position).toBe(2);
      expect(route).toHaveBeenCalledTimes(2);
      // No token: 401 from the guard.
      expect((await request<Queue>(url, 'POST', `/sales/${sale.id}/queue`)).status).toBe(401);
      // A room with anti-bot rules: the route screens the join (here: no proof sent).
      const guarded = await roomSale({
        admitPerSecond: 1,
        maxActive: 1000,
        claimSeconds: 60,
        antiBot: { mode: 'log' },
      });
      await poll(u, guarded.id); // the sale is cached in this copy now
      const screened = await join(u, guarded.id);
      expect(route).toHaveBeenCalledTimes(3);
      expect(screened.body.code).toBe('CHALLENGE_REQUIRED');
      expect(await (await fetch(`${url}/metrics`)).text()).toMatch(
        /flash_http_request_duration_seconds_count\{method="POST",route="\/sales\/:id\/queue",status="200"\} [1-9]/,
      );
    } finally {
      route.mockRestore();
    }
  });

  it('sold out: waiters are told, new joins get 409 QUEUE_CLOSED', async () => {
    const sale = await roomSale({ admitPerSecond: 100, maxActive: 1000, claimSeconds: 60 }, { stock: 2 });
    const shoppers = f.users.slice(22, 27);
    for (const u of shoppers) await join(u, sale.id);
    // Only as many admissions as units: two shoppers are let in, the rest wait.
    const passes = [await admitted(shoppers[0]!, sale.id), await admitted(shoppers[1]!, sale.id)];
    await new Promise((r) => setTimeout(r, 300));
    expect((await poll(shoppers[2]!, sale.id)).body.state).toBe('waiting');
    for (const [i, p] of passes.entries()) {
      expect(
        (await buy(url, shoppers[i]!, sale.id, { quantity: 1 }, { 'admission-token': p.admission!.token })).status,
      ).toBe(202);
    }
    await waitFor(
      'waiters told sold out',
      async () => (await poll(shoppers[2]!, sale.id)).body.state,
      (s) => s === 'sold_out',
    );
    const closed = await join(f.users[27]!, sale.id);
    expect([closed.status, closed.body.code]).toEqual([409, 'QUEUE_CLOSED']);
  });

  it('admin: pause and resume the room, 409 NO_WAITING_ROOM on a sale without one', async () => {
    const sale = await roomSale({ admitPerSecond: 50 });
    const paused = await admin('POST', `/admin/sales/${sale.id}/room/pause`);
    expect((paused.body as unknown as SaleView).waitingRoom?.paused).toBe(true);
    const u = f.users[28]!;
    await join(u, sale.id);
    await new Promise((r) => setTimeout(r, 300));
    expect((await poll(u, sale.id)).body.state).toBe('waiting');
    expect((await admin('GET', `/admin/sales/${sale.id}/room`)).body.state).toBe('paused');
    await admin('POST', `/admin/sales/${sale.id}/room/resume`);
    await admitted(u, sale.id);
    const plain = await createActiveSale(url, f.admin, {}, false);
    expect((await admin('POST', `/admin/sales/${plain.id}/room/pause`)).body.code).toBe('NO_WAITING_ROOM');
    expect((await admin('GET', `/admin/sales/${plain.id}/room`)).body.code).toBe('NO_WAITING_ROOM');
  });

  it('an admission issued before the gate was rebuilt (Redis lost its data) is void', async () => {
    const sale = await roomSale({ admitPerSecond: 100 });
    const [u] = await createUsers(f.api, f.db.url, 1);
    await join(u!, sale.id);
    const pass = await admitted(u!, sale.id);
    const tokens = f.api.app.get(RoomTokens);
    const old = tokens.verifyAdmission(pass.admission!.token, sale.id, u!.id)!;
    // The gate is lost and built again (as after an empty restart): admissions older than it are void.
    const redis = f.api.app.get(RoomStore).redis;
    await redis.del(`${f.config.REDIS_KEY_PREFIX}:{${sale.id}}:state`);
    await admin('POST', `/admin/sales/${sale.id}/preheat`);
    const res = await buy(url, u!, sale.id, { quantity: 1 }, { 'admission-token': pass.admission!.token });
    expect([res.status, res.body.code]).toEqual([403, 'ADMISSION_INVALID']);
    expect(old.issuedAt).toBeLessThan(Date.now());
  });

  it('no purchase without an admission reached the orders of a room sale', async () => {
    const rows = await query<{ n: string }>(
      f.db.url,
      `SELECT count(*)::text AS n FROM orders o JOIN sales s ON s.id = o.sale_id WHERE s.waiting_room IS NOT NULL`,
    );
    // 10 (pre-queue test) + 2 (sold out) orders, each bought with an admission.
    await waitFor(
      'orders persisted',
      () =>
        query<{ n: string }>(
          f.db.url,
          `SELECT count(*)::text AS n FROM orders o JOIN sales s ON s.id = o.sale_id WHERE s.waiting_room IS NOT NULL`,
        ),
      (r) => r[0]!.n === '12',
    );
    expect(Number(rows[0]!.n)).toBeLessThanOrEqual(12);
  });
});
