import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { AppConfig } from '../infra/config/app-config.js';
import type { Ticket } from '../infra/queues/queues.js';
import { RedisService } from '../infra/redis/redis.module.js';
import { allGateKeys, gateChannel, gateKeys, gateRegistryKey, type GateKeys } from './gate.keys.js';
import {
  ADJUST_STOCK_LUA,
  ADMIT_LUA,
  CLEAR_LUA,
  REBUILD_LUA,
  RELEASE_LUA,
  UPDATE_SETTINGS_LUA,
} from './gate.scripts.js';

/** What the gate needs to know of a sale. Times in ms since the epoch. */
export interface GateSettings {
  stock: number;
  startsAt: number;
  /** The effective end: endedAt when ended early, else endsAt. */
  endsAt: number;
  perUserLimit: number;
  paused: boolean;
  price: number;
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
  /** EXISTS: `create` found a gate (settings written only). MOVED: read Postgres again. DONE: computed (and written). */
  status: 'EXISTS' | 'MOVED' | 'DONE';
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

type Args = (string | number)[];
interface GateCommands {
  gateRebuild(...keysAndArgs: Args): Promise<[string, number, number, number, string]>;
  gateUpdateSettings(key: string, ...args: Args): Promise<number>;
  gateAdjustStock(key: string, ...args: Args): Promise<[number, number]>;
  gateAdmit(...keysAndArgs: Args): Promise<[string, string, string]>;
  gateRelease(...keysAndArgs: Args): Promise<number>;
  gateClear(...keysAndArgs: Args): Promise<number>;
}
type GateRedis = Redis & GateCommands;

/**
 * The sale's admission state in Redis. Every decision is one Lua script, sent
 * with EVALSHA; ioredis reloads a script on NOSCRIPT (after a Redis restart).
 */
@Injectable()
export class GateService {
  private readonly redis: GateRedis;
  private readonly prefix: string;
  readonly channel: string;

  constructor(
    @Inject(RedisService) redis: RedisService,
    @Inject(AppConfig) private readonly config: AppConfig,
  ) {
    this.prefix = config.REDIS_KEY_PREFIX;
    this.channel = gateChannel(this.prefix);
    const client = redis.client;
    if (!('gateAdmit' in client)) {
      client.defineCommand('gateRebuild', { numberOfKeys: 5, lua: REBUILD_LUA });
      client.defineCommand('gateUpdateSettings', { numberOfKeys: 1, lua: UPDATE_SETTINGS_LUA });
      client.defineCommand('gateAdjustStock', { numberOfKeys: 1, lua: ADJUST_STOCK_LUA });
      client.defineCommand('gateAdmit', { numberOfKeys: 8, lua: ADMIT_LUA });
      client.defineCommand('gateRelease', { numberOfKeys: 5, lua: RELEASE_LUA });
      client.defineCommand('gateClear', { numberOfKeys: 3, lua: CLEAR_LUA });
    }
    this.redis = client as GateRedis;
  }

  /** Whether the connection to Redis is up (a command sent now is not left waiting for a reconnect). */
  get connected(): boolean {
    return this.redis.status === 'ready';
  }

  keys(saleId: string): GateKeys {
    return gateKeys(this.prefix, saleId);
  }

  /** The `persisted` counter, noted before reading the orders of record for a rebuild. */
  async persistedMark(saleId: string): Promise<number> {
    return Number((await this.redis.get(this.keys(saleId).persisted)) ?? 0);
  }

  /**
   * One atomic build/check/repair of the gate from the orders of record read
   * after `mark` (see REBUILD_LUA). Registers the sale for the sweeper when written.
   */
  async rebuild(
    saleId: string,
    mode: RebuildMode,
    settings: GateSettings,
    orders: OrdersOfRecord,
    mark: number,
    safe: boolean,
  ): Promise<RebuildAnswer> {
    const k = this.keys(saleId);
    const [status, current, expected, moved, drift] = await this.redis.gateRebuild(
      k.state,
      k.buyers,
      k.pending,
      k.released,
      k.persisted,
      mode,
      mark,
      settings.stock,
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
    );
    if (mode !== 'check' && status !== 'MOVED') await this.redis.sadd(gateRegistryKey(this.prefix), saleId);
    return {
      status: status as RebuildAnswer['status'],
      current: current < 0 ? null : current,
      expected,
      moved,
      buyers: drift
        ? drift.split(',').map((d) => {
            const [userId, gate, want] = d.split(':');
            return { userId: userId!, gate: Number(gate), expected: Number(want) };
          })
        : [],
    };
  }

  /** Writes window, limit, pause and price into a preheated gate; false when not preheated. */
  async updateSettings(saleId: string, settings: Omit<GateSettings, 'stock'>): Promise<boolean> {
    const written = await this.redis.gateUpdateSettings(
      this.keys(saleId).state,
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
    );
    return written === 1;
  }

  /** Moves a preheated gate from one stock of record to the next (see ADJUST_STOCK_LUA). */
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
   * The one atomic admission decision (see ADMIT_LUA). A call aborted when
   * the connection closed with part of its pipeline unanswered (ioredis does
   * not re-send those) is sent once more: the script applies an admission once
   * whatever is re-sent, so the shopper gets the real answer.
   */
  async admit(request: AdmitRequest): Promise<AdmitAnswer> {
    try {
      return await this.admitOnce(request);
    } catch (err) {
      if (!(err instanceof Error && err.name === 'AbortError')) throw err;
      return this.admitOnce(request);
    }
  }

  private async admitOnce({ ticket, ip, idempotencyKey }: AdmitRequest): Promise<AdmitAnswer> {
    const k = this.keys(ticket.saleId);
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
    );
    return { code: code as AdmitCode, remaining: Number(remaining), orderId: orderId || undefined };
  }

  /** Gives an order's units back (once per order); true when given back now. */
  async release(saleId: string, orderId: string, userId: string, quantity: number): Promise<boolean> {
    const k = this.keys(saleId);
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
   * Drops tickets whose orders are persisted: one script per sale, however
   * many tickets (see CLEAR_LUA; `persisted` goes up only by the units of
   * tickets still pending, and in the same atomic step, so a rebuild sees it
   * moved). Throws if any call failed: the caller's job is then retried, and
   * clearing again is harmless.
   */
  async clearTickets(tickets: { saleId: string; orderId: string; quantity: number }[]): Promise<void> {
    if (tickets.length === 0) return;
    const bySale = new Map<string, (string | number)[]>();
    for (const t of tickets) {
      const args = bySale.get(t.saleId);
      if (args) args.push(t.orderId, t.quantity);
      else bySale.set(t.saleId, [t.orderId, t.quantity]);
    }
    await Promise.all(
      [...bySale].map(([saleId, args]) => {
        const k = this.keys(saleId);
        return this.redis.gateClear(k.pending, k.pendingAt, k.persisted, ...args);
      }),
    );
  }

  /** Tickets admitted before `olderThan` (ms), oldest first. */
  async staleTickets(saleId: string, olderThan: number, limit: number): Promise<Ticket[]> {
    const k = this.keys(saleId);
    const ids = await this.redis.zrangebyscore(k.pendingAt, '-inf', olderThan, 'LIMIT', 0, limit);
    if (ids.length === 0) return [];
    const raw = await this.redis.hmget(k.pending, ...ids);
    return raw.flatMap((json) => (json ? [JSON.parse(json) as Ticket] : []));
  }

  /** A ticket not yet persisted, found across the sales that have a gate. */
  async findTicket(orderId: string): Promise<Ticket | null> {
    const sales = await this.gatedSales();
    if (sales.length === 0) return null;
    const pipeline = this.redis.pipeline();
    for (const saleId of sales) pipeline.hget(this.keys(saleId).pending, orderId);
    const results = (await pipeline.exec()) ?? [];
    const found = results.find(([err, value]) => !err && typeof value === 'string');
    return found ? (JSON.parse(found[1] as string) as Ticket) : null;
  }

  gatedSales(): Promise<string[]> {
    return this.redis.smembers(gateRegistryKey(this.prefix));
  }

  /** Remaining units per the gate, or null when the sale is not preheated. */
  async remaining(saleId: string): Promise<number | null> {
    const value = await this.redis.hget(this.keys(saleId).state, 'remaining');
    return value === null ? null : Number(value);
  }

  /** Remaining of many sales in one round trip (null: not preheated). */
  async remainingMany(saleIds: string[]): Promise<(number | null)[]> {
    if (saleIds.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of saleIds) pipeline.hget(this.keys(id).state, 'remaining');
    const results = (await pipeline.exec()) ?? [];
    return results.map(([err, value]) => (err || value === null ? null : Number(value)));
  }

  /** Admissions not yet persisted as orders. */
  pendingCount(saleId: string): Promise<number> {
    return this.redis.zcard(this.keys(saleId).pendingAt);
  }

  /** Adds outcomes counted outside Redis (refusals answered from a local flag). */
  async addCounts(counts: Map<string, Map<string, number>>): Promise<void> {
    if (counts.size === 0) return;
    const pipeline = this.redis.pipeline();
    for (const [saleId, byCode] of counts) {
      for (const [code, n] of byCode) pipeline.hincrby(this.keys(saleId).stats, code, n);
    }
    await pipeline.exec();
  }

  async stats(saleId: string): Promise<GateStats> {
    const k = this.keys(saleId);
    const [state, counters, pending] = await Promise.all([
      this.redis.hmget(k.state, 'remaining', 'stock'),
      this.redis.hgetall(k.stats),
      this.redis.zcard(k.pendingAt),
    ]);
    return {
      remaining: state[0] === null ? null : Number(state[0]),
      stock: state[1] === null ? null : Number(state[1]),
      counters: Object.fromEntries(Object.entries(counters).map(([key, v]) => [key, Number(v)])),
      pending,
    };
  }

  async remove(saleId: string): Promise<void> {
    await this.redis.del(...allGateKeys(this.keys(saleId)));
    await this.redis.srem(gateRegistryKey(this.prefix), saleId);
  }
}
