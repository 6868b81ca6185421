import { Inject, Injectable } from '@nestjs/common';
import { GateLayout, type RebuildReply } from './gate-layout.js';
import { allGateKeys, homeBucket, type GateKeys } from './gate.keys.js';

/** What the gate needs to know of a sale. Times in ms since the epoch. */
export interface GateSettings {
  stock: number;
  startsAt: number;
  /** The effective end: endedAt when ended early, else endsAt. */
  endsAt: number;
  perUserLimit: number;
  paused: boolean;
  price: number;
  /** Buckets the sale's stock is split into (1: one gate, one slot). */
  buckets: number;
  /** The sale has a waiting room: a purchase needs the room's admission (see ADMIT_LUA). */
  room: boolean;
}

export type AdjustResult =
  | { status: 'done'; remaining: number }
  | { status: 'absent' }
  | { status: 'refused'; remaining: number }
  | { status: 'conflict'; remaining: number };

/** The orders of record of one sale, as a gate rebuild needs them. */
export interface OrdersOfRecord {
  /** Orders not CANCELLED/FAILED: they hold their units. */
  live: { orderId: string; userId: string; quantity: number }[];
  /** CANCELLED/FAILED orders: their units are back (the gate must never give them back again). */
  dead: string[];
  /** AWAITING_PAYMENT orders and their deadlines (their expiry jobs live in Redis too). */
  awaiting: { orderId: string; paymentDeadline: Date }[];
}

export type RebuildMode = 'create' | 'check' | 'repair';

export interface RebuildAnswer {
  /**
   * EXISTS: `create` found a gate (settings written only). MOVED: read Postgres again. DONE: computed (and
   * written). SHORT: the stock is below the units held (asked to refuse that); nothing written.
   */
  status: 'EXISTS' | 'MOVED' | 'DONE' | 'SHORT';
  /** The gate's remaining before the call; null when there was no gate. */
  current: number | null;
  /** Remaining per the orders of record (held = live orders + tickets not persisted yet). */
  expected: number;
  /** Units persisted between the Postgres read and the call, counted as held (safe mode). */
  moved: number;
  /** Buyers whose count in the gate differs from the orders of record. */
  buyers: { userId: string; gate: number; expected: number }[];
}

/** The `persisted` counter of each bucket, noted before reading the orders of record. */
export type PersistedMark = number[];

/** One build, check or repair of a sale's gate (see GateRebuild.rebuild). */
export interface RebuildOptions {
  mode: RebuildMode;
  settings: GateSettings;
  /** Read from Postgres after `mark` was noted. */
  orders: OrdersOfRecord;
  mark: PersistedMark;
  /** Units persisted since `mark` count as held (never freed) instead of answering MOVED. */
  safe: boolean;
  /** A stock below the units held is refused (SHORT) instead of written as sold out. */
  guard?: boolean;
}

/** One call of REBUILD_LUA on one bucket. */
interface BucketRebuild {
  bucket: number;
  buckets: number;
  mode: RebuildMode;
  settings: GateSettings;
  /** The units this bucket owns (its share of the sale's stock). */
  stock: number;
  orders: Pick<OrdersOfRecord, 'live' | 'dead'>;
  mark: number;
  safe: boolean;
  /** A new epoch voids the transfers in flight (see TAKE_LUA); '0' for a sale of one bucket. */
  epoch?: string;
}

type Held = RebuildAnswer & { held: number };

/** The keys of REBUILD_LUA (its KEYS, in order) for a bucket's keys. */
export function rebuildKeys(k: GateKeys): [string, string, string, string, string, string] {
  return [k.state, k.buyers, k.pending, k.released, k.persisted, k.transfersOut];
}

/**
 * Building and repairing a sale's gate from the orders of record (the
 * preheat, the reconcile pass, a stock change of a sale split into buckets),
 * and the admin's changes to a gate that exists: settings, stock, removal.
 */
@Injectable()
export class GateRebuild {
  constructor(@Inject(GateLayout) private readonly layout: GateLayout) {}

  /** The `persisted` counter of each bucket, noted before reading the orders of record for a rebuild. */
  async persistedMark(saleId: string, buckets: number): Promise<PersistedMark> {
    return Promise.all(
      Array.from({ length: buckets }, async (_, b) =>
        Number((await this.layout.redis.get(this.layout.bucketKeys(saleId, b, buckets).persisted)) ?? 0),
      ),
    );
  }

  /**
   * One build/check/repair of the gate from the orders of record read after
   * `mark` (see REBUILD_LUA): one atomic call for a sale of one bucket.
   * Registers the sale for the sweeper when written. With `guard`, a stock
   * below the units held is refused (SHORT) instead of written as sold out.
   */
  async rebuild(saleId: string, options: RebuildOptions): Promise<RebuildAnswer> {
    const { mode, settings, orders, mark, safe } = options;
    const buckets = Math.max(1, settings.buckets);
    const answer =
      buckets === 1
        ? toAnswer(
            await this.rebuildBucket(saleId, {
              bucket: 0,
              buckets: 1,
              mode,
              settings,
              stock: settings.stock,
              orders,
              mark: mark[0] ?? 0,
              safe,
            }),
          )
        : await this.rebuildBuckets(saleId, buckets, options);
    if (mode !== 'check' && answer.status !== 'MOVED' && answer.status !== 'SHORT') {
      const redis = this.layout.redis;
      await redis.sadd(this.layout.registryKey, saleId);
      if (buckets > 1) await redis.hset(this.layout.bucketsKey, saleId, buckets);
      else await redis.hdel(this.layout.bucketsKey, saleId);
      this.layout.learnt(saleId, buckets);
    }
    return answer;
  }

  private rebuildBucket(saleId: string, b: BucketRebuild): Promise<RebuildReply> {
    const k = this.layout.bucketKeys(saleId, b.bucket, b.buckets);
    return this.layout.redis.gateRebuild(
      ...rebuildKeys(k),
      b.mode,
      b.mark,
      b.stock,
      b.settings.startsAt,
      b.settings.endsAt,
      b.settings.perUserLimit,
      b.settings.paused ? 1 : 0,
      b.settings.price,
      b.orders.live.map((o) => `${o.orderId} ${o.userId} ${o.quantity};`).join(''),
      b.orders.dead.join(','),
      b.safe ? 1 : 0,
      this.layout.channel,
      saleId,
      b.buckets,
      b.bucket,
      b.epoch ?? '0',
      b.settings.room ? 1 : 0,
    );
  }

  /**
   * The rebuild of a sale split into buckets: each bucket first counts the
   * units it holds (its shoppers' live orders and its pending tickets), then
   * each is written with what it holds plus an even share of what is left
   * (stock − all held), under a new epoch (transfers in flight are void). The
   * buckets are written one call each while the sale sells on: a ticket
   * admitted meanwhile is counted where it is, so the total never exceeds the stock.
   */
  private async rebuildBuckets(
    saleId: string,
    buckets: number,
    { mode, settings, orders, mark, safe, guard = false }: RebuildOptions,
  ): Promise<RebuildAnswer> {
    const all = Array.from({ length: buckets }, (_, b) => b);
    const own = all.map(() => ({ live: [] as OrdersOfRecord['live'], dead: [] as string[] }));
    for (const o of orders.live) own[homeBucket(o.userId, buckets)]!.live.push(o);
    // A dead order's shopper is unknown here: every bucket keeps it as given back.
    for (const b of all) own[b]!.dead = orders.dead;
    const each = (bucket: number, over: Pick<BucketRebuild, 'mode' | 'stock'> & { epoch?: string }) =>
      this.rebuildBucket(saleId, {
        bucket,
        buckets,
        settings,
        orders: own[bucket]!,
        mark: mark[bucket] ?? 0,
        safe,
        ...over,
      });
    if (mode === 'create') {
      const exists = await Promise.all(
        all.map((b) => this.layout.redis.exists(this.layout.bucketKeys(saleId, b, buckets).state)),
      );
      if (exists.every((e) => e === 1)) {
        const replies = await Promise.all(all.map((b) => each(b, { mode, stock: 0 })));
        return { ...sum(replies.map(toAnswer)), status: 'EXISTS', expected: -1 };
      }
    }
    const checks = (await Promise.all(all.map((b) => each(b, { mode: 'check', stock: 0 })))).map(toAnswer);
    if (checks.some((c) => c.status === 'MOVED')) return { ...sum(checks), status: 'MOVED' };
    const held = checks.map((c) => c.held);
    const free = settings.stock - held.reduce((a, b) => a + b, 0);
    if (mode === 'check') return { ...sum(checks), expected: Math.max(0, free) };
    if (guard && free < 0) return { ...sum(checks), status: 'SHORT', expected: free };
    const left = Math.max(0, free);
    const epoch = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
    const writes = (
      await Promise.all(
        all.map((b) => {
          const share = Math.floor(left / buckets) + (b < left % buckets ? 1 : 0);
          return each(b, { mode: 'repair', stock: held[b]! + share, epoch });
        }),
      )
    ).map(toAnswer);
    const result = sum(writes);
    return {
      ...result,
      status: writes.some((w) => w.status === 'MOVED') ? 'MOVED' : 'DONE',
      current: sum(checks).current,
    };
  }

  /** Writes window, limit, pause and price into a preheated gate (every bucket); false when not preheated. */
  async updateSettings(saleId: string, settings: Omit<GateSettings, 'stock' | 'buckets'>): Promise<boolean> {
    const written = await Promise.all(
      (await this.layout.everyBucket(saleId)).map((k) =>
        this.layout.redis.gateUpdateSettings(
          k.state,
          'startsAt',
          settings.startsAt,
          'endsAt',
          settings.endsAt,
          'limit',
          settings.perUserLimit,
          'paused',
          settings.paused ? 1 : 0,
          'price',
          settings.price,
          'room',
          settings.room ? 1 : 0,
        ),
      ),
    );
    return written[0] === 1;
  }

  /**
   * Moves a preheated gate of one bucket from one stock of record to the next
   * (see ADJUST_STOCK_LUA). A sale split into buckets changes stock by a
   * rebuild instead (ReconcileService.restock).
   */
  async adjustStock(saleId: string, from: number, to: number): Promise<AdjustResult> {
    const [status, remaining] = await this.layout.redis.gateAdjustStock(
      this.layout.keys(saleId).state,
      from,
      to,
      this.layout.channel,
      saleId,
    );
    if (status === 0) return { status: 'absent' };
    if (status === -2) return { status: 'conflict', remaining };
    return status === 1 ? { status: 'done', remaining } : { status: 'refused', remaining };
  }

  /** Deletes the gate (every bucket) of a sale. */
  async remove(saleId: string): Promise<void> {
    const redis = this.layout.redis;
    for (const k of await this.layout.everyBucket(saleId)) await redis.del(...allGateKeys(k));
    await redis.srem(this.layout.registryKey, saleId);
    await redis.hdel(this.layout.bucketsKey, saleId);
    this.layout.forget(saleId);
  }
}

function toAnswer([status, current, expected, moved, drift, held]: RebuildReply): Held {
  return {
    status: status as RebuildAnswer['status'],
    current: current < 0 ? null : current,
    expected,
    moved,
    held,
    buyers: drift
      ? drift.split(',').map((d) => {
          const [userId, gate, want] = d.split(':');
          return { userId: userId!, gate: Number(gate), expected: Number(want) };
        })
      : [],
  };
}

/** The buckets' answers added up (current is null when any bucket has no gate). */
function sum(answers: Held[]): Held {
  return {
    status: answers.some((a) => a.status === 'MOVED') ? 'MOVED' : 'DONE',
    current: answers.some((a) => a.current === null) ? null : answers.reduce((n, a) => n + a.current!, 0),
    expected: answers.reduce((n, a) => n + a.expected, 0),
    moved: answers.reduce((n, a) => n + a.moved, 0),
    held: answers.reduce((n, a) => n + a.held, 0),
    buyers: answers.flatMap((a) => a.buyers),
  };
}
