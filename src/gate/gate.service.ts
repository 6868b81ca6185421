import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { AppConfig } from '../infra/config/app-config.js';
import type { Ticket } from '../infra/queues/queues.js';
import { RedisService } from '../infra/redis/redis.module.js';
import { allGateKeys, gateChannel, gateKeys, gateRegistryKey, type GateKeys } from './gate.keys.js';
import { ADJUST_STOCK_LUA, ADMIT_LUA, RELEASE_LUA, SYNC_LUA, UPDATE_SETTINGS_LUA } from './gate.scripts.js';

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
  { status: 'done'; remaining: number } | { status: 'absent' } | { status: 'refused'; remaining: number };

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

export interface GateStats {
  remaining: number | null;
  stock: number | null;
  counters: Record<string, number>;
  pending: number;
}

type Args = (string | number)[];
interface GateCommands {
  gateSync(key: string, ...args: Args): Promise<number>;
  gateUpdateSettings(key: string, ...args: Args): Promise<number>;
  gateAdjustStock(key: string, ...args: Args): Promise<[number, number]>;
  gateAdmit(...keysAndArgs: Args): Promise<[string, string, string]>;
  gateRelease(...keysAndArgs: Args): Promise<number>;
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
      client.defineCommand('gateSync', { numberOfKeys: 1, lua: SYNC_LUA });
      client.defineCommand('gateUpdateSettings', { numberOfKeys: 1, lua: UPDATE_SETTINGS_LUA });
      client.defineCommand('gateAdjustStock', { numberOfKeys: 1, lua: ADJUST_STOCK_LUA });
      client.defineCommand('gateAdmit', { numberOfKeys: 8, lua: ADMIT_LUA });
      client.defineCommand('gateRelease', { numberOfKeys: 5, lua: RELEASE_LUA });
    }
    this.redis = client as GateRedis;
  }

  keys(saleId: string): GateKeys {
    return gateKeys(this.prefix, saleId);
  }

  /** Preheat: loads the sale; `available` becomes remaining only if the gate is new. Returns remaining. */
  async preheat(saleId: string, settings: GateSettings, available: number): Promise<number> {
    const remaining = await this.redis.gateSync(
      this.keys(saleId).state,
      settings.stock,
      available,
      settings.startsAt,
      settings.endsAt,
      settings.perUserLimit,
      settings.paused ? 1 : 0,
      settings.price,
    );
    await this.redis.sadd(gateRegistryKey(this.prefix), saleId);
    return remaining;
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

  async adjustStock(saleId: string, delta: number): Promise<AdjustResult> {
    const [status, remaining] = await this.redis.gateAdjustStock(this.keys(saleId).state, delta, this.channel, saleId);
    if (status === 0) return { status: 'absent' };
    return status === 1 ? { status: 'done', remaining } : { status: 'refused', remaining };
  }

  /** The one atomic admission decision (see ADMIT_LUA). */
  async admit({ ticket, ip, idempotencyKey }: AdmitRequest): Promise<AdmitAnswer> {
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

  /** Drops tickets whose orders are persisted. */
  async clearTickets(tickets: { saleId: string; orderId: string }[]): Promise<void> {
    if (tickets.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const t of tickets) {
      const k = this.keys(t.saleId);
      pipeline.hdel(k.pending, t.orderId).zrem(k.pendingAt, t.orderId);
    }
    await pipeline.exec();
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
