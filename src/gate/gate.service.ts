import { Inject, Injectable, Logger } from '@nestjs/common';
import { Cluster, type Redis } from 'ioredis';
import { GateConfig, RedisConfig } from '../infra/config/app-config.js';
import type { Ticket } from './tickets.js';
import { RedisService, type RedisClient } from '../infra/redis/redis.module.js';
import { slotOf } from '../infra/redis/slots.js';
import {
  allGateKeys,
  bucketTag,
  gateBucketsKey,
  gateChannel,
  gateKeys,
  gateRegistryKey,
  homeBucket,
  type GateKeys,
} from './gate.keys.js';
import {
  ADJUST_STOCK_LUA,
  ADMIT_LUA,
  CLEAR_LUA,
  GIVE_LUA,
  REBUILD_LUA,
  RELEASE_LUA,
  TAKE_LUA,
  UPDATE_SETTINGS_LUA,
} from './gate.scripts.js';

/** How long a process trusts its knowledge of a sale's bucket count (an admission checks it anyway). */
const LAYOUT_TTL_MS = 1000;

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
}

export type AdjustResult =
  | { status: 'done'; remaining: number }
  | { status: 'absent' }
  | { status: 'refused'; remaining: number }
  | { status: 'conflict'; remaining: number };

export type AdmitCode =
  'OK' | 'REPLAY' | 'NOT_READY' | 'RATE_LIMITED' | 'SALE_NOT_ACTIVE' | 'LIMIT_EXCEEDED' | 'SOLD_OUT' | 'BUSY';

export interface AdmitRequest {
  ticket: Ticket;
  ip: string;
  idempotencyKey?: string;
}

export interface AdmitAnswer {
  code: AdmitCode;
  /** Units left after this decision (-1 when unknown). */
  remaining: number;
  /** The admitted order (OK), or the first one under the idempotency key (REPLAY). */
  orderId?: string;
}

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

export interface GateStats {
  remaining: number | null;
  stock: number | null;
  counters: Record<string, number>;
  pending: number;
}

/** The `persisted` counter of each bucket, noted before reading the orders of record. */
export type PersistedMark = number[];

type Args = (string | number)[];
type RebuildReply = [string, number, number, number, string, number];
interface GateCommands {
  gateRebuild(...keysAndArgs: Args): Promise<RebuildReply>;
  gateUpdateSettings(key: string, ...args: Args): Promise<number>;
  gateAdjustStock(key: string, ...args: Args): Promise<[number, number]>;
  gateAdmit(...keysAndArgs: Args): Promise<[string, string, string]>;
  gateRelease(...keysAndArgs: Args): Promise<number>;
  gateClear(...keysAndArgs: Args): Promise<number>;
  gateTake(...keysAndArgs: Args): Promise<[number, number, string]>;
  gateGive(...keysAndArgs: Args): Promise<number>;
}
type GateRedis = RedisClient & GateCommands;

/** Units moved from a donor bucket into the shopper's home bucket (see TAKE_LUA). */
interface Transfer {
  id: string;
  units: number;
  epoch: string;
}

/**
 * The sale's admission state in Redis. Every decision is one Lua script, sent
 * with EVALSHA; ioredis reloads a script on NOSCRIPT (after a Redis restart).
 *
 * A sale's stock may be split into buckets (a sale setting), each a gate of
 * its own on its own hash tag, so one hot sale spreads over several Redis
 * Cluster masters. A shopper always buys in the same bucket (homeBucket), so
 * the per-user limit stays one atomic check; a bucket that runs dry takes
 * units from the others (TAKE_LUA) before it answers SOLD_OUT. With one
 * bucket (the default) the gate is exactly one key set under `{<saleId>}`.
 */
@Injectable()
export class GateService {
  private readonly logger = new Logger('Gate');
  private readonly redis: GateRedis;
  private readonly prefix: string;
  readonly channel: string;
  private readonly layouts = new Map<string, { buckets: number; at: number }>();
  private readonly waits = new Map<Redis, Promise<number>>();
  private unacknowledged = 0;
  private lastWaitWarning = 0;

  constructor(
    @Inject(RedisService) redis: RedisService,
    @Inject(GateConfig) private readonly config: GateConfig,
    @Inject(RedisConfig) private readonly redisConfig: RedisConfig,
  ) {
    this.prefix = redisConfig.REDIS_KEY_PREFIX;
    this.channel = gateChannel(this.prefix);
    const client = redis.client;
    if (!('gateAdmit' in client)) {
      client.defineCommand('gateRebuild', { numberOfKeys: 6, lua: REBUILD_LUA });
      client.defineCommand('gateUpdateSettings', { numberOfKeys: 1, lua: UPDATE_SETTINGS_LUA });
      client.defineCommand('gateAdjustStock', { numberOfKeys: 1, lua: ADJUST_STOCK_LUA });
      client.defineCommand('gateAdmit', { numberOfKeys: 9, lua: ADMIT_LUA });
      client.defineCommand('gateRelease', { numberOfKeys: 5, lua: RELEASE_LUA });
      client.defineCommand('gateClear', { numberOfKeys: 3, lua: CLEAR_LUA });
      client.defineCommand('gateTake', { numberOfKeys: 2, lua: TAKE_LUA });
      client.defineCommand('gateGive', { numberOfKeys: 2, lua: GIVE_LUA });
    }
    this.redis = client as GateRedis;
  }

  /** Whether the connection to Redis is up (a command sent now is not left waiting for a reconnect). */
  get connected(): boolean {
    return this.redis.status === 'ready';
  }

  /** The keys of a sale's first bucket: the whole gate of a sale with one bucket. */
  keys(saleId: string): GateKeys {
    return gateKeys(this.prefix, saleId);
  }

  /** The keys of one bucket of a sale split into `buckets`. */
  bucketKeys(saleId: string, bucket: number, buckets: number): GateKeys {
    return gateKeys(this.prefix, bucketTag(saleId, bucket, buckets));
  }

  /** Admissions answered 202 whose replicas did not acknowledge them within REDIS_WAIT_TIMEOUT_MS. */
  get unreplicated(): number {
    return this.unacknowledged;
  }

  /**
   * How many buckets a sale has, as this process last learnt it (at most
   * LAYOUT_TTL_MS ago); an admission in the wrong layout is answered LAYOUT
   * by the script and sent again, so a stale value never admits wrongly.
   */
  async bucketsOf(saleId: string, fresh = false): Promise<number> {
    const known = this.layouts.get(saleId);
    if (known && !fresh && Date.now() - known.at < LAYOUT_TTL_MS) return known.buckets;
    const value = await this.redis.hget(gateBucketsKey(this.prefix), saleId);
    const buckets = value === null ? 1 : Number(value);
    this.layouts.set(saleId, { buckets, at: Date.now() });
    return buckets;
  }

  private async everyBucket(saleId: string): Promise<GateKeys[]> {
    const buckets = await this.bucketsOf(saleId);
    return Array.from({ length: buckets }, (_, b) => this.bucketKeys(saleId, b, buckets));
  }

  private async homeKeys(saleId: string, userId: string): Promise<GateKeys> {
    const buckets = await this.bucketsOf(saleId);
    return this.bucketKeys(saleId, homeBucket(userId, buckets), buckets);
  }

  /** The `persisted` counter of each bucket, noted before reading the orders of record for a rebuild. */
  async persistedMark(saleId: string, buckets: number): Promise<PersistedMark> {
    return Promise.all(
      Array.from({ length: buckets }, async (_, b) =>
        Number((await this.redis.get(this.bucketKeys(saleId, b, buckets).persisted)) ?? 0),
      ),
    );
  }

  /**
   * One build/check/repair of the gate from the orders of record read after
   * `mark` (see REBUILD_LUA): one atomic call for a sale of one bucket.
   * Registers the sale for the sweeper when written. With `guard`, a stock
   * below the units held is refused (SHORT) instead of written as sold out.
   */
  async rebuild(
    saleId: string,
    mode: RebuildMode,
    settings: GateSettings,
    orders: OrdersOfRecord,
    mark: PersistedMark,
    safe: boolean,
    guard = false,
  ): Promise<RebuildAnswer> {
    const buckets = Math.max(1, settings.buckets);
    const answer =
      buckets === 1
        ? toAnswer(await this.rebuildBucket(saleId, 0, 1, mode, settings, settings.stock, orders, mark[0] ?? 0, safe))
        : await this.rebuildBuckets(saleId, buckets, mode, settings, orders, mark, safe, guard);
    if (mode !== 'check' && answer.status !== 'MOVED' && answer.status !== 'SHORT') {
      await this.redis.sadd(gateRegistryKey(this.prefix), saleId);
      if (buckets > 1) await this.redis.hset(gateBucketsKey(this.prefix), saleId, buckets);
      else await this.redis.hdel(gateBucketsKey(this.prefix), saleId);
      this.layouts.set(saleId, { buckets, at: Date.now() });
    }
    return answer;
  }

  private rebuildBucket(
    saleId: string,
    bucket: number,
    buckets: number,
    mode: RebuildMode,
    settings: GateSettings,
    stock: number,
    orders: Pick<OrdersOfRecord, 'live' | 'dead'>,
    mark: number,
    safe: boolean,
    epoch = '0',
  ): Promise<RebuildReply> {
    const k = this.bucketKeys(saleId, bucket, buckets);
    return this.redis.gateRebuild(
      k.state,
      k.buyers,
      k.pending,
      k.released,
      k.persisted,
      k.transfersOut,
      mode,
      mark,
      stock,
      settings.startsAt,
      settings.endsAt,
      settings.perUserLimit,
      settings.paused ? 1 : 0,
      settings.price,
      orders.live.map((o) => `${o.orderId} ${o.userId} ${o.quantity};`).join(''),
      orders.dead.join(','),
      safe ? 1 : 0,
      this.channel,
      saleId,
      buckets,
      bucket,
      epoch,
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
    mode: RebuildMode,
    settings: GateSettings,
    orders: OrdersOfRecord,
    mark: PersistedMark,
    safe: boolean,
    guard: boolean,
  ): Promise<RebuildAnswer> {
    const all = Array.from({ length: buckets }, (_, b) => b);
    const own = all.map(() => ({ live: [] as OrdersOfRecord['live'], dead: [] as string[] }));
    for (const o of orders.live) own[homeBucket(o.userId, buckets)]!.live.push(o);
    // A dead order's shopper is unknown here: every bucket keeps it as given back.
    for (const b of all) own[b]!.dead = orders.dead;
    if (mode === 'create') {
      const exists = await Promise.all(all.map((b) => this.redis.exists(this.bucketKeys(saleId, b, buckets).state)));
      if (exists.every((e) => e === 1)) {
        const replies = await Promise.all(
          all.map((b) => this.rebuildBucket(saleId, b, buckets, mode, settings, 0, own[b]!, mark[b] ?? 0, safe)),
        );
        return { ...sum(replies.map(toAnswer)), status: 'EXISTS', expected: -1 };
      }
    }
    const checks = (
      await Promise.all(
        all.map((b) => this.rebuildBucket(saleId, b, buckets, 'check', settings, 0, own[b]!, mark[b] ?? 0, safe)),
      )
    ).map(toAnswer);
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
          const stock = held[b]! + share;
          return this.rebuildBucket(saleId, b, buckets, 'repair', settings, stock, own[b]!, mark[b] ?? 0, safe, epoch);
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
      (await this.everyBucket(saleId)).map((k) =>
        this.redis.gateUpdateSettings(
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
    const [status, remaining] = await this.redis.gateAdjustStock(
      this.keys(saleId).state,
      from,
      to,
      this.channel,
      saleId,
    );
    if (status === 0) return { status: 'absent' };
    if (status === -2) return { status: 'conflict', remaining };
    return status === 1 ? { status: 'done', remaining } : { status: 'refused', remaining };
  }

  /**
   * The one atomic admission decision (see ADMIT_LUA), in the shopper's home
   * bucket. A call aborted when the connection closed with part of its
   * pipeline unanswered (ioredis does not re-send those) is sent once more:
   * the script applies an admission once whatever is re-sent, so the shopper
   * gets the real answer. On a cluster the whole decision (redirections and a
   * failover's retries included) is bounded by REDIS_COMMAND_TIMEOUT_MS.
   * With REDIS_WAIT_REPLICAS, an admission is answered once replicas hold it.
   */
  async admit(request: AdmitRequest): Promise<AdmitAnswer> {
    const decide = this.admitRetried(request);
    const answer =
      this.redis instanceof Cluster ? await deadline(decide, this.redisConfig.REDIS_COMMAND_TIMEOUT_MS) : await decide;
    if (answer.code === 'OK' && this.redisConfig.REDIS_WAIT_REPLICAS > 0) await this.replicated(answer.key!);
    delete answer.key;
    return answer;
  }

  private async admitRetried(request: AdmitRequest): Promise<KeyedAnswer> {
    try {
      return await this.admitInLayout(request);
    } catch (err) {
      if (!(err instanceof Error && err.name === 'AbortError')) throw err;
      return this.admitInLayout(request);
    }
  }

  private async admitInLayout(request: AdmitRequest): Promise<KeyedAnswer> {
    const saleId = request.ticket.saleId;
    const known = this.layouts.get(saleId);
    let buckets = known && Date.now() - known.at < LAYOUT_TTL_MS ? known.buckets : await this.bucketsOf(saleId);
    for (let attempt = 0; ; attempt++) {
      const home = homeBucket(request.ticket.userId, buckets);
      const keys = this.bucketKeys(saleId, home, buckets);
      const answer = await this.admitOnce(request, keys, buckets);
      const stale = answer.code === 'LAYOUT' || (answer.code === 'NOT_READY' && buckets > 1);
      if (stale && attempt < 2) {
        const known = answer.code === 'LAYOUT' ? Number(answer.remaining) : await this.bucketsOf(saleId, true);
        if (known !== buckets) {
          buckets = known;
          this.layouts.set(saleId, { buckets, at: Date.now() });
          continue;
        }
      }
      if (answer.code === 'LAYOUT') return { code: 'NOT_READY', remaining: -1 };
      if (answer.code === 'DRY') return this.drawOnOthers(request, buckets, home, answer.remaining);
      const keyed = answer as KeyedAnswer;
      keyed.key = keys.state;
      return keyed;
    }
  }

  private async admitOnce(
    { ticket, ip, idempotencyKey }: AdmitRequest,
    k: GateKeys,
    buckets: number,
    transfer?: Transfer,
  ): Promise<ScriptAnswer> {
    const second = Math.floor(ticket.admittedAt / 1000);
    const [code, remaining, orderId] = await this.redis.gateAdmit(
      k.state,
      k.buyers,
      k.pending,
      k.pendingAt,
      k.stats,
      k.userRate(ticket.userId, second),
      k.ipRate(ip, second),
      k.idempotency(ticket.userId, idempotencyKey ?? '-'),
      k.transfersIn,
      ticket.userId,
      ticket.quantity,
      ticket.orderId,
      ticket.admittedAt,
      this.config.BACKLOG_CAP,
      JSON.stringify(ticket),
      this.config.RATE_LIMIT_USER_PER_SECOND,
      this.config.RATE_LIMIT_IP_PER_SECOND,
      idempotencyKey ? 1 : 0,
      this.config.IDEMPOTENCY_TTL_SECONDS,
      this.channel,
      ticket.saleId,
      buckets,
      transfer?.id ?? '',
      transfer?.units ?? 0,
      transfer?.epoch ?? '',
    );
    return { code: code as ScriptAnswer['code'], remaining: Number(remaining), orderId: orderId || undefined };
  }

  /**
   * The shopper's home bucket ran dry: take units from the other buckets in
   * turn (each transfer is named after the order and the donor, so a re-sent
   * call moves nothing twice) and admit with them in the same call that
   * receives them. Sold out only when no other bucket has units left; then the
   * news goes out (at most a few times: a copy whose flag is up asks no more).
   */
  private async drawOnOthers(
    request: AdmitRequest,
    buckets: number,
    home: number,
    homeRemaining: number,
  ): Promise<KeyedAnswer> {
    const { ticket } = request;
    const homeKeys = this.bucketKeys(ticket.saleId, home, buckets);
    let remaining = homeRemaining;
    let anyLeft = false;
    // Two rounds: a donor found dry may have received units meanwhile from another one.
    for (let i = 1; i < 2 * buckets - 1; i++) {
      const donor = (home + ((i - 1) % (buckets - 1)) + 1) % buckets;
      const donorKeys = this.bucketKeys(ticket.saleId, donor, buckets);
      const id = `${ticket.orderId}.${donor}`;
      const want = Math.max(1, ticket.quantity - Math.max(0, remaining));
      const [units, left, epoch] = await this.redis.gateTake(
        donorKeys.state,
        donorKeys.transfersOut,
        id,
        want,
        home,
        Date.now(),
      );
      if (left > 0) anyLeft = true;
      if (units === 0) continue;
      const answer = await this.admitOnce(request, homeKeys, buckets, { id, units, epoch });
      // Received (or void): the donor need not keep the record for the sweeper.
      void this.redis.hdel(donorKeys.transfersOut, id).catch(() => undefined);
      if (answer.code === 'LAYOUT') return { code: 'NOT_READY', remaining: -1 };
      if (answer.code !== 'DRY') return { ...answer, code: answer.code, key: homeKeys.state };
      remaining = answer.remaining;
    }
    await this.redis.hincrby(homeKeys.stats, 'SOLD_OUT', 1);
    if (!anyLeft && remaining <= 0) await this.redis.publish(this.channel, `soldout:${ticket.saleId}`);
    return { code: 'SOLD_OUT', remaining: Math.max(0, remaining) };
  }

  /**
   * Waits until REDIS_WAIT_REPLICAS replicas hold the writes made so far on
   * the connection of this key's node: one WAIT per node and turn of the
   * event loop, for every admission answered in it. Fewer acknowledgements
   * than asked (no replica in sync) still answer 202 (the master holds the
   * admission); they are counted and logged.
   */
  private async replicated(key: string): Promise<void> {
    const node = this.nodeOf(key);
    let wait = this.waits.get(node);
    if (!wait) {
      wait = new Promise<number>((resolve, reject) =>
        setImmediate(() => {
          this.waits.delete(node);
          node.wait(this.redisConfig.REDIS_WAIT_REPLICAS, this.redisConfig.REDIS_WAIT_TIMEOUT_MS).then(resolve, reject);
        }),
      );
      this.waits.set(node, wait);
    }
    const acknowledged = await wait;
    if (acknowledged >= this.redisConfig.REDIS_WAIT_REPLICAS) return;
    this.unacknowledged++;
    if (Date.now() - this.lastWaitWarning > 5000) {
      this.lastWaitWarning = Date.now();
      this.logger.warn(
        `${this.unacknowledged} admission(s) so far not acknowledged by ${this.redisConfig.REDIS_WAIT_REPLICAS} replica(s) in ${this.redisConfig.REDIS_WAIT_TIMEOUT_MS} ms`,
      );
    }
  }

  /** The connection that carries commands for this key (the slot's master on a cluster). */
  private nodeOf(key: string): Redis {
    if (!(this.redis instanceof Cluster)) return this.redis as Redis;
    const master = this.redis.slots[slotOf(key)]?.[0];
    const node = this.redis.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === master);
    if (!node) throw new Error('Connection is closed.');
    return node;
  }

  /** Gives an order's units back to its shopper's bucket (once per order); true when given back now. */
  async release(saleId: string, orderId: string, userId: string, quantity: number): Promise<boolean> {
    const k = await this.homeKeys(saleId, userId);
    const done = await this.redis.gateRelease(
      k.state,
      k.buyers,
      k.released,
      k.pending,
      k.pendingAt,
      orderId,
      userId,
      quantity,
      this.channel,
      saleId,
    );
    return done === 1;
  }

  /**
   * Drops tickets whose orders are persisted: one script per bucket, however
   * many tickets (see CLEAR_LUA; `persisted` goes up only by the units of
   * tickets still pending, and in the same atomic step, so a rebuild sees it
   * moved). Throws if any call failed: the caller's job is then retried, and
   * clearing again is harmless.
   */
  async clearTickets(tickets: { saleId: string; userId: string; orderId: string; quantity: number }[]): Promise<void> {
    if (tickets.length === 0) return;
    const byBucket = new Map<string, { keys: GateKeys; args: (string | number)[] }>();
    for (const t of tickets) {
      const keys = await this.homeKeys(t.saleId, t.userId);
      const entry = byBucket.get(keys.pending);
      if (entry) entry.args.push(t.orderId, t.quantity);
      else byBucket.set(keys.pending, { keys, args: [t.orderId, t.quantity] });
    }
    await Promise.all(
      [...byBucket.values()].map(({ keys: k, args }) =>
        this.redis.gateClear(k.pending, k.pendingAt, k.persisted, ...args),
      ),
    );
  }

  /** Tickets admitted before `olderThan` (ms), oldest first per bucket. */
  async staleTickets(saleId: string, olderThan: number, limit: number): Promise<Ticket[]> {
    const found: Ticket[] = [];
    for (const k of await this.everyBucket(saleId)) {
      const ids = await this.redis.zrangebyscore(k.pendingAt, '-inf', olderThan, 'LIMIT', 0, limit);
      if (ids.length === 0) continue;
      const raw = await this.redis.hmget(k.pending, ...ids);
      for (const json of raw) if (json) found.push(JSON.parse(json) as Ticket);
    }
    return found;
  }

  /**
   * Completes transfers between a sale's buckets older than `olderThan` (ms)
   * whose API copy died between taking the units and handing them on: the
   * units reach their bucket once (GIVE_LUA), then the record goes. Returns how many.
   */
  async completeTransfers(saleId: string, olderThan: number): Promise<number> {
    const buckets = await this.bucketsOf(saleId);
    if (buckets === 1) return 0;
    let done = 0;
    for (let b = 0; b < buckets; b++) {
      const k = this.bucketKeys(saleId, b, buckets);
      for (const [id, record] of Object.entries(await this.redis.hgetall(k.transfersOut))) {
        const [to, units, epoch, at] = record.split(' ');
        if (Number(at) > olderThan) continue;
        const target = this.bucketKeys(saleId, Number(to), buckets);
        await this.redis.gateGive(target.state, target.transfersIn, id, Number(units), epoch ?? '', Date.now());
        await this.redis.hdel(k.transfersOut, id);
        done++;
      }
    }
    return done;
  }

  /**
   * A ticket not yet persisted, found across the sales that have a gate (one
   * HGET per bucket, each routed to its own node on a cluster).
   */
  async findTicket(orderId: string): Promise<Ticket | null> {
    const sales = await this.gatedSales();
    const buckets = (await Promise.all(sales.map((saleId) => this.everyBucket(saleId)))).flat();
    const results = await Promise.all(buckets.map((k) => this.redis.hget(k.pending, orderId).catch(() => null)));
    const found = results.find((value) => typeof value === 'string');
    return found ? (JSON.parse(found) as Ticket) : null;
  }

  gatedSales(): Promise<string[]> {
    return this.redis.smembers(gateRegistryKey(this.prefix));
  }

  /** Remaining units per the gate (all buckets), or null when the sale is not preheated. */
  async remaining(saleId: string): Promise<number | null> {
    const values = await Promise.all(
      (await this.everyBucket(saleId)).map((k) => this.redis.hget(k.state, 'remaining')),
    );
    if (values[0] === null || values[0] === undefined) return null;
    return values.reduce((n, v) => n + Number(v ?? 0), 0);
  }

  /** Remaining of many sales (null: not preheated); one command per bucket, routed per node. */
  remainingMany(saleIds: string[]): Promise<(number | null)[]> {
    return Promise.all(saleIds.map((id) => this.remaining(id).catch(() => null)));
  }

  /** Admissions not yet persisted as orders. */
  async pendingCount(saleId: string): Promise<number> {
    const counts = await Promise.all((await this.everyBucket(saleId)).map((k) => this.redis.zcard(k.pendingAt)));
    return counts.reduce((a, b) => a + b, 0);
  }

  /** Adds outcomes counted outside Redis (refusals answered from a local flag), in each sale's first bucket. */
  async addCounts(counts: Map<string, Map<string, number>>): Promise<void> {
    const writes: Promise<number>[] = [];
    for (const [saleId, byCode] of counts) {
      for (const [code, n] of byCode) writes.push(this.redis.hincrby(this.keys(saleId).stats, code, n));
    }
    await Promise.all(writes);
  }

  async stats(saleId: string): Promise<GateStats> {
    const parts = await Promise.all(
      (await this.everyBucket(saleId)).map((k) =>
        Promise.all([
          this.redis.hmget(k.state, 'remaining', 'stock'),
          this.redis.hgetall(k.stats),
          this.redis.zcard(k.pendingAt),
        ]),
      ),
    );
    const counters: Record<string, number> = {};
    for (const [, c] of parts)
      for (const [key, v] of Object.entries(c)) counters[key] = (counters[key] ?? 0) + Number(v);
    const first = parts[0]![0];
    return {
      remaining: first[0] === null ? null : parts.reduce((n, [s]) => n + Number(s[0] ?? 0), 0),
      stock: first[1] === null ? null : parts.reduce((n, [s]) => n + Number(s[1] ?? 0), 0),
      counters,
      pending: parts.reduce((n, [, , p]) => n + p, 0),
    };
  }

  /** Deletes the gate (every bucket) of a sale. */
  async remove(saleId: string): Promise<void> {
    for (const k of await this.everyBucket(saleId)) await this.redis.del(...allGateKeys(k));
    await this.redis.srem(gateRegistryKey(this.prefix), saleId);
    await this.redis.hdel(gateBucketsKey(this.prefix), saleId);
    this.layouts.delete(saleId);
  }
}

/** An admission's answer and the state key of the bucket that decided it (for WAIT). */
type KeyedAnswer = AdmitAnswer & { key?: string };
/** What the admission script answers: also LAYOUT and DRY, which the service resolves. */
type ScriptAnswer = Omit<AdmitAnswer, 'code'> & { code: AdmitCode | 'LAYOUT' | 'DRY' };

function toAnswer([status, current, expected, moved, drift, held]: RebuildReply): RebuildAnswer & { held: number } {
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
function sum(answers: (RebuildAnswer & { held: number })[]): RebuildAnswer & { held: number } {
  return {
    status: answers.some((a) => a.status === 'MOVED') ? 'MOVED' : 'DONE',
    current: answers.some((a) => a.current === null) ? null : answers.reduce((n, a) => n + a.current!, 0),
    expected: answers.reduce((n, a) => n + a.expected, 0),
    moved: answers.reduce((n, a) => n + a.moved, 0),
    held: answers.reduce((n, a) => n + a.held, 0),
    buyers: answers.flatMap((a) => a.buyers),
  };
}

/** The promise, or a "Command timed out" error (a store out of reach) after `ms`. */
function deadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('Command timed out')), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
