import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RedisService } from '../src/infra/redis/redis.module.js';
import type { AppConfig } from '../src/infra/config/app-config.js';
import type { RoomSale } from '../src/room/room-sale.js';
import { roomSale } from './support/room-sale.js';
import { RoomStore } from '../src/room/room.store.js';
import { clearRedis, testConfig } from './support/env.js';
import { waitFor } from './support/wait-for.js';

/**
 * The room's rules as its Lua scripts apply them, on a real Redis (the
 * scripts read Redis's clock, so time passes for real here: short claim
 * windows and absence limits instead of a fake clock).
 */
describe('waiting room scripts', () => {
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

  const sale = (over: Partial<RoomSale['room']> = {}, startsIn = -1000): RoomSale =>
    roomSale({ admitPerSecond: 100, ...over }, startsIn);
  const turn = (
    s: RoomSale,
    over: Partial<{ owner: string; remaining: number | null; rate: number; maxPerTurn: number; graceMs: number }> = {},
  ) =>
    store.tick(s, {
      owner: 'a',
      remaining: 1_000_000,
      rate: s.room.admitPerSecond as number,
      maxPerTurn: 100_000,
      ...over,
    });

  it('fairness: the pre-queue is in a uniformly random order (Kendall τ ≈ 0), late joiners follow in join order', async () => {
    const s = sale({}, 60_000);
    const early = Array.from({ length: 2000 }, (_, i) => `early-${String(i).padStart(5, '0')}`);
    for (let i = 0; i < early.length; i += 200) {
      await Promise.all(early.slice(i, i + 200).map((u) => store.join(s, u, 60_000)));
    }
    // The sale starts: later joins are first come first served, behind the whole pre-queue.
    const started = { ...s, startsAt: Date.now() - 1, version: String(Number(s.version) + 1) };
    const late = Array.from({ length: 50 }, (_, i) => `late-${i}`);
    for (const u of late) expect((await store.join(started, u, 60_000)).state).toBe('waiting');
    const order = await store.redis.zrange(store.keys(s.id)[1]!, '0', '-1');
    expect(order.slice(-50)).toEqual(late);
    const rank = new Map(order.map((u, i) => [u, i]));
    const tau = kendallTau(early.map((u) => rank.get(u)!));
    // σ(τ) for n = 2000 is ≈ 0.015: |τ| < 0.08 fails a fair draw about once in 10^7.
    expect(Math.abs(tau)).toBeLessThan(0.08);
  });

  it('admits at the rate, never above the free slots or the units left; holds without a gate', async () => {
    const s = sale({ admitPerSecond: 1000, maxActive: 5 });
    for (let i = 0; i < 20; i++) await store.join(s, `u${i}`, 60_000);
    expect((await turn(s, { remaining: null })).status).toBe('HOLD');
    await new Promise((r) => setTimeout(r, 100));
    const first = await turn(s, { remaining: 3 });
    expect(first).toMatchObject({ status: 'OK', admitted: 3, active: 3 });
    await new Promise((r) => setTimeout(r, 100));
    const second = await turn(s, { remaining: 100 });
    expect(second).toMatchObject({ admitted: 2, active: 5, waiting: 15 });
    await new Promise((r) => setTimeout(r, 100));
    expect((await turn(s)).admitted).toBe(0);
    // Another copy does not admit while the lease holder lives.
    expect((await turn(s, { owner: 'b' })).status).toBe('LEASED');
  });

  it('settings follow the newest version of the sale: an older copy (a stale admitter) never undoes a pause', async () => {
    const s = sale({ admitPerSecond: 1000 });
    const paused = { ...s, version: String(Number(s.version) + 1), room: { ...s.room, paused: true } };
    await store.join(paused, 'p', 60_000);
    await turn(s);
    await new Promise((r) => setTimeout(r, 50));
    expect(await turn(s)).toMatchObject({ status: 'HOLD', admitted: 0 });
    expect((await store.poll(s, 'p', 60_000)).state).toBe('waiting');
    const resumed = { ...s, version: String(Number(s.version) + 2) };
    await new Promise((r) => setTimeout(r, 50));
    expect((await turn(resumed)).admitted).toBe(1);
    expect((await store.poll(s, 'p', 60_000)).state).toBe('admitted');
  });

  it('lapse: an admission not used in its window frees the slot; the next in line is let in', async () => {
    const s = sale({ admitPerSecond: 1000, maxActive: 1, claimSeconds: 0.3 });
    await store.join(s, 'x', 60_000);
    await store.join(s, 'y', 60_000);
    await turn(s); // the first turn only notes the time: the budget accrues from there
    await new Promise((r) => setTimeout(r, 50));
    expect((await turn(s)).admitted).toBe(1);
    expect((await store.poll(s, 'x', 60_000)).state).toBe('admitted');
    const lapsed = await waitFor(
      'x lapsed and y admitted',
      () => turn(s),
      (t) => t.lapsed === 1 || t.admitted === 1,
    );
    expect(lapsed.lapsed).toBe(1);
    expect((await store.poll(s, 'x', 60_000)).state).toBe('none');
    await waitFor(
      'y admitted',
      async () => (await turn(s), (await store.poll(s, 'y', 60_000)).state),
      (st) => st === 'admitted',
    );
  });

  it('gone: a waiter who stops polling loses the place; one who polls keeps it', async () => {
    const s = sale({ paused: true });
    await store.join(s, 'quiet', 300);
    await store.join(s, 'polling', 300);
    const gone = await waitFor(
      'the quiet one gone',
      async () => {
        await store.poll(s, 'polling', 300);
        return turn(s);
      },
      (t) => t.gone === 1,
    );
    expect(gone.waiting).toBe(1);
    expect((await store.poll(s, 'quiet', 300)).state).toBe('none');
    expect((await store.poll(s, 'polling', 300)).state).toBe('waiting');
  });

  it('gone, with a grace for shed polls: a waiter silent past the horizon stays while the grace covers it', async () => {
    const s = sale({ paused: true });
    await store.join(s, 'shed', 200);
    // Past its seen-by time (200 ms), but within the grace (the seconds in which the doors shed its polls).
    await new Promise((r) => setTimeout(r, 400));
    expect(await turn(s, { graceMs: 60_000 })).toMatchObject({ gone: 0, waiting: 1 });
    expect((await store.poll(s, 'shed', 200)).state).toBe('waiting');
    await new Promise((r) => setTimeout(r, 400));
    // No grace: the same silence is gone.
    expect(await turn(s)).toMatchObject({ gone: 1, waiting: 0 });
  });

  it('use, end and leave move a shopper out of the active slots; joins beyond maxQueue are refused', async () => {
    const s = sale({ admitPerSecond: 1000, maxActive: 1, maxQueue: 2 });
    await store.join(s, 'p', 60_000);
    await store.join(s, 'q', 60_000);
    expect((await store.join(s, 'r', 60_000)).state).toBe('full');
    await turn(s);
    await new Promise((r) => setTimeout(r, 50));
    expect((await turn(s)).admitted).toBe(1);
    await store.used(s.id, 'p', 60_000);
    expect((await store.poll(s, 'p', 60_000)).state).toBe('buying');
    await new Promise((r) => setTimeout(r, 50));
    expect((await turn(s)).admitted).toBe(0);
    expect(await store.ended(s.id, 'p')).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    expect((await turn(s)).admitted).toBe(1);
    expect(await store.leave(s.id, 'q')).toBe(true);
    const stats = await store.stats(s.id);
    expect(stats.counters).toMatchObject({ joined: 2, admitted: 2, used: 1, ended: 1, left: 1 });
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
