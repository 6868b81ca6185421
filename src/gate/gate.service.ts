import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { AppConfig } from '../infra/config/app-config.js';
import { RedisService } from '../infra/redis/redis.module.js';
import { allGateKeys, gateKeys, type GateKeys } from './gate.keys.js';
import { ADJUST_STOCK_LUA, SYNC_LUA, UPDATE_SETTINGS_LUA } from './gate.scripts.js';

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

interface GateCommands {
  gateSync(key: string, ...args: (string | number)[]): Promise<number>;
  gateUpdateSettings(key: string, ...args: (string | number)[]): Promise<number>;
  gateAdjustStock(key: string, delta: number): Promise<[number, number]>;
}

type GateRedis = Redis & GateCommands;

/** The sale's admission state in Redis: preheat, settings, stock changes, reads. */
@Injectable()
export class GateService {
  private readonly redis: GateRedis;
  private readonly prefix: string;

  constructor(@Inject(RedisService) redis: RedisService, @Inject(AppConfig) config: AppConfig) {
    this.prefix = config.REDIS_KEY_PREFIX;
    const client = redis.client;
    if (!('gateSync' in client)) {
      client.defineCommand('gateSync', { numberOfKeys: 1, lua: SYNC_LUA });
      client.defineCommand('gateUpdateSettings', { numberOfKeys: 1, lua: UPDATE_SETTINGS_LUA });
      client.defineCommand('gateAdjustStock', { numberOfKeys: 1, lua: ADJUST_STOCK_LUA });
    }
    this.redis = client as GateRedis;
  }

  keys(saleId: string): GateKeys {
    return gateKeys(this.prefix, saleId);
  }

  /** Preheat: loads the sale; `available` becomes remaining only if the gate is new. Returns remaining. */
  preheat(saleId: string, settings: GateSettings, available: number): Promise<number> {
    return this.redis.gateSync(
      this.keys(saleId).state,
      settings.stock,
      available,
      settings.startsAt,
      settings.endsAt,
      settings.perUserLimit,
      settings.paused ? 1 : 0,
      settings.price,
    );
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
    const [status, remaining] = await this.redis.gateAdjustStock(this.keys(saleId).state, delta);
    if (status === 0) return { status: 'absent' };
    return status === 1 ? { status: 'done', remaining } : { status: 'refused', remaining };
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

  async remove(saleId: string): Promise<void> {
    await this.redis.del(...allGateKeys(this.keys(saleId)));
  }
}
