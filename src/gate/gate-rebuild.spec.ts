import { beforeEach, describe, expect, it, jest } from '@jest/globals';
import { RedisConfig, sliceOf } from '../infra/config/app-config.js';
import type { RedisService } from '../infra/redis/redis.module.js';
import { newTestService, unitConfig } from '../testing/new-test-service.js';
import { GateLayout, type RebuildReply } from './gate-layout.js';
import { GateRebuild, type GateSettings, type OrdersOfRecord, type RebuildOptions } from './gate-rebuild.js';
import { homeBucket } from './gate.keys.js';

const SALE = '3c9e2d1a-7b6f-4a5e-8d4c-2b1a0f9e8d7c';
/** Where gateRebuild's arguments sit: 6 keys, then ARGV (see REBUILD_LUA). */
const ARG = { state: 0, mode: 6, stock: 8, live: 14, bucket: 20, epoch: 21 };

const settings = (over: Partial<GateSettings> = {}): GateSettings => ({
  stock: 10,
  startsAt: 0,
  endsAt: 1,
  perUserLimit: 2,
  paused: false,
  price: 100,
  buckets: 3,
  room: false,
  ...over,
});

/**
 * How a rebuild of a sale split into buckets shares the stock out is decided
 * in TypeScript (each bucket's script only writes its own share), so Redis is
 * replaced by a fake of the rebuild script: each bucket holds `held[b]` units.
 */
describe('GateRebuild: a sale split into buckets', () => {
  let held: number[];
  let gateRebuild: jest.Mock<(...args: (string | number)[]) => Promise<RebuildReply>>;
  let redis: Record<string, unknown>;
  let layout: GateLayout;
  let gate: GateRebuild;
  let orders: OrdersOfRecord;

  beforeEach(() => {
    held = [2, 0, 1];
    gateRebuild = jest.fn(async (...args: (string | number)[]) => {
      const bucket = Number(args[ARG.bucket]);
      const stock = Number(args[ARG.stock]);
      return args[ARG.mode] === 'check'
        ? ['DONE', 3, 0, 0, '', held[bucket]!]
        : ['DONE', 3, stock - held[bucket]!, 0, '', held[bucket]!];
    });
    redis = {
      gateAdmit: jest.fn(),
      gateRebuild,
      exists: jest.fn(async () => 0),
      sadd: jest.fn(async () => 1),
      hset: jest.fn(async () => 1),
      hdel: jest.fn(async () => 1),
    };
    layout = new GateLayout({ client: redis } as unknown as RedisService, sliceOf(RedisConfig, unitConfig()));
    gate = newTestService(GateRebuild, { use: [[GateLayout, layout]] }).sut;
    const users = Array.from({ length: 12 }, (_, i) => `user-${i}`);
    orders = {
      live: users.map((userId, i) => ({ orderId: `ORDER${i}`, userId, quantity: 1 })),
      dead: ['DEAD1'],
      awaiting: [],
    };
  });

  const calls = (mode: string) => gateRebuild.mock.calls.filter((c) => c[ARG.mode] === mode);
  /** A repair of the sale (10 units in 3 buckets) from `orders`, read after a mark of 0. */
  const rebuild = (over: Partial<RebuildOptions> = {}) =>
    gate.rebuild(SALE, { mode: 'repair', settings: settings(), orders, mark: [0, 0, 0], safe: false, ...over });

  it('each bucket counts what it holds, then gets it plus an even share of the rest: the shares add up to the stock', async () => {
    const answer = await rebuild();
    expect(calls('check')).toHaveLength(3);
    const writes = calls('repair');
    expect(writes.map((c) => c[ARG.bucket])).toEqual([0, 1, 2]);
    const stocks = writes.map((c) => Number(c[ARG.stock]));
    // 10 − 3 held = 7 left: shares 3, 2, 2 on top of what each bucket holds.
    expect(stocks).toEqual([2 + 3, 0 + 2, 1 + 2]);
    expect(stocks.reduce((a, b) => a + b, 0)).toBe(10);
    expect(answer).toMatchObject({ status: 'DONE', expected: 7, current: 9 });
    // One new epoch for every bucket (transfers in flight are void), and the layout recorded.
    expect(new Set(writes.map((c) => c[ARG.epoch])).size).toBe(1);
    expect(writes[0]![ARG.epoch]).not.toBe('0');
    expect(redis.hset).toHaveBeenCalledWith(layout.bucketsKey, SALE, 3);
    expect(layout.knownBuckets(SALE)).toBe(3);
  });

  it('each bucket is given only the live orders of its own shoppers', async () => {
    await rebuild({ mode: 'check' });
    for (const call of calls('check')) {
      const bucket = Number(call[ARG.bucket]);
      const mine = orders.live.filter((o) => homeBucket(o.userId, 3) === bucket);
      expect(call[ARG.live]).toBe(mine.map((o) => `${o.orderId} ${o.userId} ${o.quantity};`).join(''));
    }
    expect(calls('repair')).toHaveLength(0);
  });

  it('more held than the new stock: with guard, SHORT and nothing written', async () => {
    held = [2, 2, 1];
    const answer = await rebuild({ settings: settings({ stock: 4 }), guard: true });
    expect(answer).toMatchObject({ status: 'SHORT', expected: -1 });
    expect(calls('repair')).toHaveLength(0);
    expect(redis.sadd).not.toHaveBeenCalled();
  });

  it('without guard, a stock below the units held is written as sold out: every bucket keeps what it holds', async () => {
    held = [2, 2, 1];
    await rebuild({ settings: settings({ stock: 4 }) });
    expect(calls('repair').map((c) => Number(c[ARG.stock]))).toEqual([2, 2, 1]);
  });

  it('a bucket whose orders moved during the read: MOVED, nothing written', async () => {
    gateRebuild.mockImplementationOnce(async () => ['MOVED', -1, -1, 1, '', 0]);
    const answer = await rebuild();
    expect(answer.status).toBe('MOVED');
    expect(calls('repair')).toHaveLength(0);
  });
});
