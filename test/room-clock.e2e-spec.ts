import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RedisService } from '../src/infra/redis/redis.module.js';
import type { AppConfig } from '../src/infra/config/app-config.js';
import type { RoomSale } from '../src/room/room-sale.js';
import { roomSale } from './support/room-sale.js';
import { GONE_AFTER_MS } from '../src/room/room-terms.js';
import { RoomStore } from '../src/room/room.store.js';
import { clearRedis, testConfig } from './support/env.js';

/**
 * The room's fairness and lapse rules on a real Redis, with synthetic time
 * instead of real waiting.
 *
 * The clock cannot be injected: every script reads Redis's own (`TIME`,
 * PRELUDE in room.scripts.ts). What the scripts compare that clock with can:
 * the sale's start and end come in the arguments (so "before the start" and
 * "after the start" are set by the sale the test passes), and the deadlines
 * of an admission (active set) and of a waiter's silence (seen set) are
 * stored scores. Moving a stored deadline back by Δ is, for the script, the
 * clock moving forward by Δ; that is how a claim window or the silence rule
 * "passes" here without waiting for it.
 */
describe('waiting room rules with synthetic time (scripts on real Redis)', () => {
  let config: AppConfig;
  let redis: RedisService;
  let store: RoomStore;

  beforeAll(() => {
    config = testConfig('postgresql://unused@127.0.0.1:5432/unused');
    redis = new RedisService(config);
    store = new RoomStore(redis, config, config);
  });

  afterAll(async () => {
    await clearRedis(config);
    await redis.onApplicationShutdown();
  });

  /** Redis's clock, ms (the scripts' `now`). */
  const redisNow = async () => {
    const [s, us] = await store.redis.time();
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  };
  /** Waits (without sleeping) until Redis's clock has moved past `t`: joins after it are at a later time. */
  const clockPast = async (t: number) => {
    const deadline = Date.now() + 1000;
    while ((await redisNow()) <= t) if (Date.now() > deadline) throw new Error('Redis clock did not move');
  };

  const sale = roomSale;
  /** The same sale, started now (a newer version of its row, as after the start: the settings follow it). */
  const started = (s: RoomSale): RoomSale => ({
    ...s,
    startsAt: Date.now() - 1,
    version: String(Number(s.version) + 1),
  });
  const turn = (s: RoomSale, maxPerTurn = 100_000) =>
    store.tick(s, { owner: 'clock-test', remaining: 1_000_000, rate: 100_000, maxPerTurn });
  const keysOf = (s: RoomSale) => {
    const [cfg, queue, seen, active, issued] = store.keys(s.id) as [string, string, string, string, string];
    return { cfg, queue, seen, active, issued };
  };

  /** Runs turns of one admission at most until `total` shoppers were let in; returns them in that order. */
  async function admissionOrder(s: RoomSale, total: number): Promise<string[]> {
    const { active } = keysOf(s);
    const order: string[] = [];
    for (let i = 0; order.length < total; i++) {
      if (i > total * 20) throw new Error(`only ${order.length} of ${total} admitted`);
      await clockPast(await redisNow()); // a turn in a later ms than the last one: its budget is not 0
      const before = new Set(await store.redis.zrange(active, '0', '-1'));
      const t = await turn(s, 1);
      expect(t.status).toBe('OK');
      const now = (await store.redis.zrange(active, '0', '-1')).filter((u) => !before.has(u));
      expect(now).toHaveLength(t.admitted);
      order.push(...now);
    }
    return order;
  }

  it('pre-queue joiners are in a uniformly random order, whatever their join order and time (over 400 rooms)', async () => {
    const rooms = 400;
    const n = 8;
    const sales = Array.from({ length: rooms }, () => sale({}, 600_000));
    // Round k: the k-th joiner of every room joins, each round at a later Redis time than the one before.
    for (let k = 0; k < n; k++) {
      const t = await redisNow();
      const places = await Promise.all(sales.map((s) => store.join(s, `j${k}`, 600_000)));
      for (const p of places) expect(p).toMatchObject({ state: 'waiting', prequeue: true });
      await clockPast(t);
    }
    // Nobody is let in before the start.
    expect(await turn(sales[0]!)).toMatchObject({ status: 'HOLD', admitted: 0 });

    const counts = Array.from({ length: n }, () => new Array<number>(n).fill(0));
    let tauSum = 0;
    for (const s of sales) {
      const order = await store.redis.zrange(keysOf(s).queue, '0', '-1');
      expect(order).toHaveLength(n);
      const positions = Array.from({ length: n }, (_, k) => order.indexOf(`j${k}`));
      positions.forEach((pos, k) => counts[k]![pos]!++);
      tauSum += kendallTau(positions);
    }
    // Each join rank lands at each position rooms/n = 50 times on average. χ² over the n×n table has
    // (n-1)² = 49 degrees of freedom; 111.5 is its 1-in-a-million upper tail (Wilson–Hilferty).
    const expected = rooms / n;
    const chi2 = counts.flat().reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
    // Kendall's τ of one room of 8 has σ ≈ 0.289; the mean of 400 has σ ≈ 0.0144: |mean| < 0.07 is 4.8 σ.
    const meanTau = tauSum / rooms;
    // Where the first and the last joiner stand on average: (n-1)/2 = 3.5 for both, σ ≈ 0.11.
    const meanPos = (k: number) => counts[k]!.reduce((sum, c, pos) => sum + c * pos, 0) / rooms;
    expect({ chi2, meanTau, fair: chi2 < 111.5 && Math.abs(meanTau) < 0.07 }).toMatchObject({ fair: true });
    expect(Math.abs(meanPos(0) - 3.5)).toBeLessThan(0.55);
    expect(Math.abs(meanPos(n - 1) - 3.5)).toBeLessThan(0.55);
  });

  it('after the start: joiners in join order behind the whole pre-queue; a pre-queue member joining again keeps the draw', async () => {
    const s = sale({}, 600_000);
    const early = Array.from({ length: 20 }, (_, i) => `early-${i}`);
    for (const u of early) await store.join(s, u, 600_000);
    const draws = await store.redis.zrange(keysOf(s).queue, '0', '-1', 'WITHSCORES');

    const live = started(s);
    const late = Array.from({ length: 20 }, (_, i) => `late-${i}`);
    for (const [i, u] of late.entries()) {
      const p = await store.join(live, u, 600_000);
      expect(p).toMatchObject({ state: 'waiting', prequeue: false, ahead: early.length + i });
      // A pre-queue member's second join (another tab, after the start) changes nothing.
      if (i === 5) expect(await store.join(live, 'early-0', 600_000)).toMatchObject({ prequeue: true });
    }
    expect((await store.redis.zrange(keysOf(s).queue, '0', '-1', 'WITHSCORES')).slice(0, draws.length)).toEqual(draws);

    // Let in one a turn: the whole pre-queue (in its drawn order) first, then the late joiners in join order.
    const order = await admissionOrder(live, early.length + late.length);
    expect(order.slice(0, early.length)).toEqual(draws.filter((_, i) => i % 2 === 0));
    expect(order.slice(early.length)).toEqual(late);
  });

  it('an admission lapses when its claim window is over, not before; its slot goes to the next in the same turn', async () => {
    const claimMs = 60_000;
    const s = sale({ maxActive: 1, claimSeconds: claimMs / 1000 });
    for (const u of ['x', 'y']) await store.join(s, u, 600_000);
    await turn(s); // the first turn notes the time: the budget accrues from there
    await clockPast(await redisNow());
    expect(await turn(s)).toMatchObject({ admitted: 1, active: 1, waiting: 1 });
    const x = await store.poll(s, 'x', 600_000);
    if (x.state !== 'admitted') throw new Error(`x is ${x.state}`);
    const { active, issued } = keysOf(s);
    // The window: claimMs from the issue, exactly.
    expect(x.expiresAt - x.issuedAt).toBe(claimMs);
    expect(Number(await store.redis.hget(issued, 'x'))).toBe(x.issuedAt);
    expect(Number(await store.redis.zscore(active, 'x'))).toBe(x.expiresAt);

    /** Moves the admission's issue back so that, by Redis's clock, `age` ms have passed since it. */
    const age = async (ms: number) => {
      const t = await redisNow();
      await store.redis.hset(issued, 'x', t - ms);
      await store.redis.zadd(active, t - ms + claimMs, 'x');
      return t;
    };
    // 1 s short of the window: kept, the next one waits.
    await age(claimMs - 1000);
    expect(await turn(s)).toMatchObject({ lapsed: 0, admitted: 0, active: 1, waiting: 1 });
    expect((await store.poll(s, 'x', 600_000)).state).toBe('admitted');
    // 50 ms short (the turn runs within the next 50 ms: checked by Redis's clock after it): still kept.
    const t = await age(claimMs - 50);
    const kept = await turn(s);
    if ((await redisNow()) < t + 50) expect(kept).toMatchObject({ lapsed: 0, admitted: 0 });
    // The window just over: x lapses and y takes the slot in the same turn.
    await clockPast(await age(claimMs));
    expect(await turn(s)).toMatchObject({ lapsed: 1, admitted: 1, active: 1, waiting: 0 });
    expect((await store.poll(s, 'x', 600_000)).state).toBe('none');
    expect((await store.poll(s, 'y', 600_000)).state).toBe('admitted');
    expect(await store.redis.hexists(issued, 'x')).toBe(0);
    expect((await store.stats(s.id)).counters).toMatchObject({ admitted: 2, lapsed: 1 });
  });

  it(`a waiter silent for ${GONE_AFTER_MS / 1000} s is gone and holds no place: the one behind is let in instead`, async () => {
    const s = sale({ maxActive: 1 });
    const { seen, queue } = keysOf(s);
    const joined = await store.join(s, 'quiet', GONE_AFTER_MS);
    await store.join(s, 'polling', GONE_AFTER_MS);
    await store.join(s, 'third', GONE_AFTER_MS);
    // The silence deadline: the service's rule from the join (and from each poll).
    expect(Number(await store.redis.zscore(seen, 'quiet'))).toBe(joined.room.now + GONE_AFTER_MS);
    const polled = await store.poll(s, 'polling', GONE_AFTER_MS);
    expect(Number(await store.redis.zscore(seen, 'polling'))).toBe(polled.room.now + GONE_AFTER_MS);

    /** As if the shopper's last join or poll was `ms` ago by Redis's clock. */
    const silentFor = async (user: string, ms: number) =>
      store.redis.zadd(seen, (await redisNow()) - ms + GONE_AFTER_MS, user);
    // Paused (a newer version of the sale): only the silence rule acts.
    const paused = { ...s, version: String(Number(s.version) + 1), room: { ...s.room, paused: true } };
    await silentFor('quiet', GONE_AFTER_MS - 1000);
    expect(await turn(paused)).toMatchObject({ status: 'HOLD', gone: 0, waiting: 3 });
    expect(await store.poll(s, 'quiet', GONE_AFTER_MS)).toMatchObject({ state: 'waiting', ahead: 0 });

    // Silent the whole time: gone at the next turn, and 'polling' (behind it) gets the free slot, not 'quiet'.
    await silentFor('quiet', GONE_AFTER_MS);
    const resumed = { ...s, version: String(Number(s.version) + 2) };
    await clockPast(await redisNow());
    const first = await turn(resumed);
    expect(first).toMatchObject({ status: 'OK', gone: 1 });
    await clockPast(await redisNow());
    const second = await turn(resumed);
    expect([first.admitted + second.admitted, second.active]).toEqual([1, 1]);
    expect((await store.poll(s, 'quiet', GONE_AFTER_MS)).state).toBe('none');
    expect((await store.poll(s, 'polling', GONE_AFTER_MS)).state).toBe('admitted');
    expect(await store.poll(s, 'third', GONE_AFTER_MS)).toMatchObject({ state: 'waiting', ahead: 0 });
    expect(await store.redis.zscore(queue, 'quiet')).toBeNull();
    expect((await store.stats(s.id)).counters).toMatchObject({ gone: 1 });
  });
});

/** Kendall's τ of a sequence against its index order. */
function kendallTau(values: number[]): number {
  let concordant = 0;
  let discordant = 0;
  for (let i = 0; i < values.length; i++) {
    for (let j = i + 1; j < values.length; j++) {
      if (values[j]! > values[i]!) concordant++;
      else if (values[j]! < values[i]!) discordant++;
    }
  }
  return (concordant - discordant) / (concordant + discordant);
}
