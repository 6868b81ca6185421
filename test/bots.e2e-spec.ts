import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { solve } from '../src/bots/challenge.js';
import type { QueueView } from '../src/room/room.service.js';
import { buy, createActiveSale, query } from './support/buy.js';
import { startFixture, type ApiFixture } from './support/fixture.js';
import { request } from './support/http.js';
import type { TestUser } from './support/users.js';
import { waitFor } from './support/wait-for.js';

jest.setTimeout(120_000);

type Queue = QueueView & { code?: string; reason?: string };
interface ChallengeAnswer {
  required: boolean;
  challenge: string;
  salt: string;
  hash: string;
  maxNumber: number;
  tier: number;
  expiresAt: string;
  code?: string;
}

/**
 * The anti-bot screen at a waiting room's door, over HTTP (issue 22): the
 * challenge route, proofs at join (missing, malformed, foreign, replayed),
 * the shadow queue and the caps per address and device (client addresses
 * from X-Forwarded-For through a trusted loopback proxy), log mode, the
 * admin room stats, and purchases only with an admission (reused, before the
 * start, another shopper's, another sale's).
 */
describe('bots and scalpers', () => {
  let f: ApiFixture;
  let url: string;

  beforeAll(async () => {
    f = await startFixture('bots', {
      users: 30,
      worker: 'ops,promotions,orders,inventory,timeouts',
      env: { ROOM_TICK_MS: '50', TRUST_PROXY: 'loopback', BOTS_CHALLENGE_LIMIT_PER_IP: '1000' },
    });
    url = f.api.url;
  });

  afterAll(async () => {
    await f?.close();
  });

  let nextUser = 0;
  const shopper = (): TestUser => f.users[nextUser++]!;
  const from = (ip: string, device?: string): Record<string, string> => ({
    'x-forwarded-for': ip,
    ...(device ? { 'device-id': device } : {}),
  });
  const challenge = (user: TestUser, saleId: string, headers: Record<string, string>) =>
    request<ChallengeAnswer>(url, 'GET', `/sales/${saleId}/queue/challenge`, { token: user.token, headers });
  const join = (user: TestUser, saleId: string, headers: Record<string, string>) =>
    request<Queue>(url, 'POST', `/sales/${saleId}/queue`, { token: user.token, headers });
  const poll = (user: TestUser, saleId: string) =>
    request<Queue>(url, 'GET', `/sales/${saleId}/queue`, { token: user.token });
  const admin = (method: string, path: string, body?: unknown) =>
    request<Record<string, unknown>>(url, method, path, { token: f.admin.token, body });

  /** Polls (ignoring refresh times) until the shopper is admitted: the answer with the admission. */
  const admitted = (user: TestUser, saleId: string) =>
    waitFor(
      'admitted',
      async () => (await poll(user, saleId)).body,
      (b) => b.state === 'admitted',
      30_000,
    );

  /** Asks for a challenge from this address and solves it: the Join-Proof header. */
  async function proof(user: TestUser, saleId: string, headers: Record<string, string>): Promise<string> {
    const c = await challenge(user, saleId, headers);
    expect(c.status).toBe(200);
    expect(c.body.required).toBe(true);
    return `${c.body.challenge}:${solve(c.body)}`;
  }

  async function solvedJoin(user: TestUser, saleId: string, headers: Record<string, string>) {
    return join(user, saleId, { ...headers, 'join-proof': await proof(user, saleId, headers) });
  }

  /** A sale with a room and anti-bot rules, starting in `startsInMs`. */
  async function botSale(antiBot: Record<string, unknown>, startsInMs = 0, stock = 20) {
    const sale = await createActiveSale(
      url,
      f.admin,
      {
        stock,
        startsAt: new Date(Date.now() + startsInMs - (startsInMs ? 0 : 1000)).toISOString(),
        waitingRoom: {
          admitPerSecond: 50,
          maxActive: 100,
          claimSeconds: 60,
          antiBot: { difficulty: 1000, ...antiBot },
        },
      },
      false,
    );
    await admin('POST', `/admin/sales/${sale.id}/preheat`);
    return sale;
  }

  it('a room without anti-bot rules asks for nothing; rules are validated and shown to the admin only', async () => {
    const plain = await createActiveSale(url, f.admin, {
      waitingRoom: { admitPerSecond: 50, maxActive: 100, claimSeconds: 60 },
    });
    const user = shopper();
    expect((await challenge(user, plain.id, from('198.51.100.1'))).body).toEqual({ required: false });
    expect((await join(user, plain.id, from('198.51.100.1'))).status).toBe(200);

    const sale = await botSale({ mode: 'enforce', perAddress: { limit: 3, effect: 'refuse' } });
    const shown = await admin('GET', `/admin/sales/${sale.id}`);
    expect((shown.body.waitingRoom as { antiBot: unknown }).antiBot).toMatchObject({
      mode: 'enforce',
      difficulty: 1000,
      perAddress: { limit: 3, effect: 'refuse' },
      perDevice: { limit: 2, effect: 'shadow' },
    });
    const store = await request<{ waitingRoom: { antiBot?: unknown } }>(url, 'GET', `/sales/${sale.id}`);
    expect(store.body.waitingRoom.antiBot).toEqual({ mode: 'enforce' });

    for (const bad of [
      { mode: 'strict' },
      { mode: 'enforce', difficulty: 10 },
      { mode: 'enforce', perAddress: { limit: -1, effect: 'shadow' } },
      { mode: 'enforce', perDevice: { limit: 1, effect: 'ban' } },
      { mode: 'enforce', burst: { limit: 1, windowSeconds: 0, effect: 'harder' } },
      'on',
    ]) {
      const res = await admin('PATCH', `/admin/sales/${sale.id}`, { waitingRoom: { antiBot: bad } });
      expect({ bad, status: res.status, code: res.body.code }).toEqual({ bad, status: 400, code: 'VALIDATION_FAILED' });
    }
    const off = await admin('PATCH', `/admin/sales/${sale.id}`, { waitingRoom: { antiBot: { mode: 'off' } } });
    expect((off.body.waitingRoom as { antiBot: { mode: string } }).antiBot.mode).toBe('off');
    // the API's sale cache (STOREFRONT_CACHE_MS) catches up within a second
    const late = shopper();
    await waitFor(
      'joining without a proof',
      async () => (await join(late, sale.id, from('198.51.100.2'))).status,
      (status) => status === 200,
      10_000,
    );
  });

  it('bad proofs: required, malformed, foreign (another shopper, another sale), replayed — each its code', async () => {
    const sale = await botSale({ mode: 'enforce' });
    const other = await botSale({ mode: 'enforce' });
    const [ana, ben] = [shopper(), shopper()];
    const where = from('203.0.113.5');
    const missing = await join(ana, sale.id, where);
    expect([missing.status, missing.body.code]).toEqual([403, 'CHALLENGE_REQUIRED']);
    const malformed = await join(ana, sale.id, { ...where, 'join-proof': 'abc' });
    expect([malformed.status, malformed.body.code]).toEqual([400, 'CHALLENGE_MALFORMED']);
    const anas = await proof(ana, sale.id, where);
    const foreign = await join(ben, sale.id, { ...where, 'join-proof': anas });
    expect([foreign.status, foreign.body.code]).toEqual([403, 'CHALLENGE_INVALID']);
    const elsewhere = await join(ana, other.id, { ...where, 'join-proof': anas });
    expect([elsewhere.status, elsewhere.body.code]).toEqual([403, 'CHALLENGE_INVALID']);
    // none of those stored anything: Ana's proof still works, once
    const ok = await join(ana, sale.id, { ...where, 'join-proof': anas });
    expect(ok.status).toBe(200);
    expect(['waiting', 'admitted']).toContain(ok.body.state);
    const replay = await join(ana, sale.id, { ...where, 'join-proof': anas });
    expect([replay.status, replay.body.code]).toEqual([409, 'CHALLENGE_USED']);
    for (const r of [missing, malformed, foreign, replay]) expect(JSON.stringify(r.body)).not.toMatch(/stack|at \//);
  });

  it('shadow queue: accounts over the per-address cap see a place but are never let in; the admin sees them', async () => {
    const sale = await botSale(
      { mode: 'enforce', perAddress: { limit: 2, effect: 'shadow' }, perDevice: { limit: 1, effect: 'refuse' } },
      2500,
    );
    const scalper = [shopper(), shopper(), shopper(), shopper()];
    const honest = [shopper(), shopper()];
    const scalped = [];
    for (const [i, u] of scalper.entries()) scalped.push(await solvedJoin(u, sale.id, from('192.0.2.77', `fake-${i}`)));
    for (const [i, u] of honest.entries()) {
      expect((await solvedJoin(u, sale.id, from(`198.51.100.${10 + i}`, `phone-${i}`))).body.state).toBe('prequeue');
    }
    // the shadows cannot tell: the same answer as anybody's in the pre-queue
    for (const j of scalped) expect([j.status, j.body.state, j.body.position]).toEqual([200, 'prequeue', null]);
    // a second account on an honest shopper's device: refused outright (this sale says refuse for devices)
    const refused = await solvedJoin(shopper(), sale.id, from('198.51.100.99', 'phone-0'));
    expect([refused.status, refused.body.code, refused.body.reason]).toEqual([403, 'JOIN_REFUSED', 'device']);

    // after the start everyone real is let in; the two shadows keep a place that never comes
    const real = [...scalper.slice(0, 2), ...honest];
    for (const u of real) await admitted(u, sale.id);
    for (const u of scalper.slice(2)) {
      const seen = (await poll(u, sale.id)).body;
      expect(seen.state).toBe('waiting');
      expect(seen.position).toBeGreaterThanOrEqual(1);
      expect(seen.admission).toBeNull();
    }
    const shadowBuys = await buy(url, scalper[3]!, sale.id, { quantity: 1 });
    expect([shadowBuys.status, shadowBuys.body.code]).toEqual([403, 'ADMISSION_REQUIRED']);

    const stats = await admin('GET', `/admin/sales/${sale.id}/room`);
    expect(stats.body.shadowed).toBe(2);
    expect(stats.body.bots).toMatchObject({ shadowed: { address: 2 }, refused: { device: 1 } });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/flash_bots_identities_total\{mode="enforce",verdict="shadow",reason="address"\} 2/);
    expect(metrics).toMatch(/flash_bots_verify_cpu_seconds_total [0-9.e-]+/);
  });

  it('log mode: over-cap accounts are let in and only counted', async () => {
    const sale = await botSale({ mode: 'log', perAddress: { limit: 1, effect: 'shadow' } });
    const [a, b] = [shopper(), shopper()];
    expect((await solvedJoin(a, sale.id, from('192.0.2.150'))).status).toBe(200);
    expect((await solvedJoin(b, sale.id, from('192.0.2.150'))).status).toBe(200);
    await admitted(a, sale.id);
    await admitted(b, sale.id);
    const stats = await admin('GET', `/admin/sales/${sale.id}/room`);
    expect(stats.body.shadowed).toBe(0);
    expect(stats.body.bots).toMatchObject({ shadowed: {}, logged: { shadow: { address: 1 } } });
  });

  it('purchase only with an admission: not before the start, not twice, not another shopper’s, not on another sale', async () => {
    const later = await botSale({ mode: 'enforce' }, 60_000);
    const now = await botSale({ mode: 'enforce' });
    const [ana, ben] = [shopper(), shopper()];
    // before the start: in the pre-queue, no admission to buy with
    const early = await solvedJoin(ana, later.id, from('198.51.100.40'));
    expect([early.body.state, early.body.admission]).toEqual(['prequeue', null]);
    const tooSoon = await buy(url, ana, later.id, { quantity: 1 });
    expect([tooSoon.status, tooSoon.body.code]).toEqual([403, 'ADMISSION_REQUIRED']);

    expect((await solvedJoin(ana, now.id, from('198.51.100.41'))).status).toBe(200);
    const token = (await admitted(ana, now.id)).admission!.token;
    // on another sale (one not started yet, too)
    const otherSale = await buy(url, ana, later.id, { quantity: 1 }, { 'admission-token': token });
    expect([otherSale.status, otherSale.body.code]).toEqual([403, 'ADMISSION_INVALID']);
    // by another shopper
    const otherUser = await buy(url, ben, now.id, { quantity: 1 }, { 'admission-token': token });
    expect([otherUser.status, otherUser.body.code]).toEqual([403, 'ADMISSION_INVALID']);
    // once, then never again
    const first = await buy(url, ana, now.id, { quantity: 1 }, { 'admission-token': token });
    expect(first.status).toBe(202);
    const again = await buy(url, ana, now.id, { quantity: 1 }, { 'admission-token': token });
    expect([again.status, again.body.code]).toEqual([409, 'ADMISSION_USED']);
    await waitFor(
      'the order persisted',
      () => query<{ n: number }>(f.db.url, 'SELECT count(*)::int AS n FROM orders WHERE sale_id = $1', [now.id]),
      (rows) => rows[0]!.n === 1,
      30_000,
    );
  });
});
