import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { AppConfig } from '../src/infra/config/app-config.js';
import { RedisService } from '../src/infra/redis/redis.module.js';
import type { RoomSale } from '../src/room/room-sale.js';
import { roomSale } from './support/room-sale.js';
import { RoomStore } from '../src/room/room.store.js';
import { testConfig } from './support/env.js';
import { OwnRedisCluster } from './support/redis-cluster.js';

jest.setTimeout(120_000);

/**
 * The room's order on a Redis Cluster of the test's own (3 masters): each
 * room's keys share its sale's slot, rooms of sales on every master keep the
 * pre-queue drawn at random and the late joiners in join order behind it, and
 * the admitter lets them in in that order.
 */
describe('waiting room on a Redis Cluster', () => {
  const cluster = new OwnRedisCluster(3, 0, 2000);
  let config: AppConfig;
  let redis: RedisService;
  let store: RoomStore;

  beforeAll(async () => {
    await cluster.start();
    config = testConfig('postgresql://unused@127.0.0.1:5432/unused', {
      REDIS_URL: '',
      REDIS_CLUSTER_NODES: cluster.seeds,
    });
    redis = new RedisService(config);
    store = new RoomStore(redis, config, config);
  });

  afterAll(async () => {
    await redis?.onApplicationShutdown();
    await cluster.dispose();
  });

  const sale = (startsIn: number): RoomSale => roomSale({}, startsIn);

  it('rooms on every master: keys in one slot, the pre-queue at random, late joiners in join order behind it, let in in that order', async () => {
    // Two sales per master (sale ids drawn until each master has two).
    const byMaster = new Map<number, RoomSale[]>();
    while ([...byMaster.values()].reduce((n, s) => n + Math.min(s.length, 2), 0) < 6) {
      const s = sale(600_000);
      const master = await cluster.masterOf(store.keys(s.id)[0]!);
      byMaster.set(master, [...(byMaster.get(master) ?? []), s]);
    }
    const sales = [...byMaster.values()].flatMap((s) => s.slice(0, 2));
    expect(byMaster.size).toBe(3);

    const early = Array.from({ length: 150 }, (_, i) => `early-${String(i).padStart(3, '0')}`);
    const late = Array.from({ length: 15 }, (_, i) => `late-${String(i).padStart(2, '0')}`);
    await Promise.all(
      sales.map(async (s) => {
        const port = cluster.ports[0]!;
        const slots = await Promise.all(store.keys(s.id).map((k) => cluster.call(port, 'CLUSTER', 'KEYSLOT', k)));
        expect(new Set(slots).size).toBe(1);

        for (let i = 0; i < early.length; i += 50) {
          await Promise.all(early.slice(i, i + 50).map((u) => store.join(s, u, 600_000)));
        }
        const live = { ...s, startsAt: Date.now() - 1, version: String(Number(s.version) + 1) };
        for (const u of late) expect(await store.join(live, u, 600_000)).toMatchObject({ prequeue: false });

        const order = await store.redis.zrange(store.keys(s.id)[1]!, '0', '-1');
        expect(order.slice(early.length)).toEqual(late);
        const rank = new Map(order.map((u, i) => [u, i]));
        // σ(τ) for 150 is ≈ 0.055: |τ| < 0.3 fails a fair draw about once in 10^7.
        expect(Math.abs(kendallTau(early.map((u) => rank.get(u)!)))).toBeLessThan(0.3);

        // The admitter's turns: the whole pre-queue first, then the late joiners one by one in join order.
        const turn = (maxPerTurn: number) =>
          store.tick(live, { owner: 'cluster-test', remaining: 1_000_000, rate: 100_000, maxPerTurn });
        let admitted = 0;
        for (let i = 0; admitted < early.length; i++) {
          if (i > 500) throw new Error(`pre-queue: only ${admitted} let in`);
          admitted += (await turn(early.length - admitted)).admitted;
        }
        const active = () => store.redis.zrange(store.keys(s.id)[3]!, '0', '-1');
        expect((await active()).sort()).toEqual(early);
        const lateOrder: string[] = [];
        for (let i = 0; lateOrder.length < late.length; i++) {
          if (i > 5000) throw new Error(`late: only ${lateOrder.length} let in`);
          const before = new Set(await active());
          if ((await turn(1)).admitted === 1) lateOrder.push(...(await active()).filter((u) => !before.has(u)));
        }
        expect(lateOrder).toEqual(late);
      }),
    );
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
