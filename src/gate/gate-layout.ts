import { Inject, Injectable } from '@nestjs/common';
import { RedisConfig } from '../infra/config/app-config.js';
import { RedisService, type RedisClient } from '../infra/redis/redis.module.js';
import {
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

type Args = (string | number)[];
/** What REBUILD_LUA answers: status, current, expected, moved, buyer drift, held. */
export type RebuildReply = [string, number, number, number, string, number];

/** The gate's scripts, as ioredis defines them on the client (EVALSHA, reloaded on NOSCRIPT). */
export interface GateCommands {
  gateRebuild(...keysAndArgs: Args): Promise<RebuildReply>;
  gateUpdateSettings(key: string, ...args: Args): Promise<number>;
  gateAdjustStock(key: string, ...args: Args): Promise<[number, number]>;
  gateAdmit(...keysAndArgs: Args): Promise<[string, string, string]>;
  gateRelease(...keysAndArgs: Args): Promise<number>;
  gateClear(...keysAndArgs: Args): Promise<number>;
  gateTake(...keysAndArgs: Args): Promise<[number, number, string]>;
  gateGive(...keysAndArgs: Args): Promise<number>;
}
export type GateRedis = RedisClient & GateCommands;

/**
 * What the parts of the gate share: the Redis client with the gate's scripts
 * defined on it, the key builders, and this process's knowledge of each
 * sale's layout (how many buckets its stock is split into).
 *
 * A sale's stock may be split into buckets (a sale setting), each a gate of
 * its own on its own hash tag, so one hot sale spreads over several Redis
 * Cluster masters. A shopper always buys in the same bucket (homeBucket), so
 * the per-user limit stays one atomic check. With one bucket (the default)
 * the gate is exactly one key set under `{<saleId>}`.
 */
@Injectable()
export class GateLayout {
  readonly redis: GateRedis;
  /** Pub/sub channel of sold-out and restock news. */
  readonly channel: string;
  /** Set of sale ids with a gate. */
  readonly registryKey: string;
  /** Hash of the bucket count of sales split into more than one bucket. */
  readonly bucketsKey: string;
  private readonly prefix: string;
  private readonly layouts = new Map<string, { buckets: number; at: number }>();
  /** Reads of a sale's bucket count under way (one at a time per sale). */
  private readonly reading = new Map<string, Promise<number>>();

  constructor(@Inject(RedisService) redis: RedisService, @Inject(RedisConfig) config: RedisConfig) {
    this.prefix = config.REDIS_KEY_PREFIX;
    this.channel = gateChannel(this.prefix);
    this.registryKey = gateRegistryKey(this.prefix);
    this.bucketsKey = gateBucketsKey(this.prefix);
    const client = redis.client;
    if (!('gateAdmit' in client)) {
      client.defineCommand('gateRebuild', { numberOfKeys: 6, lua: REBUILD_LUA });
      client.defineCommand('gateUpdateSettings', { numberOfKeys: 1, lua: UPDATE_SETTINGS_LUA });
      client.defineCommand('gateAdjustStock', { numberOfKeys: 1, lua: ADJUST_STOCK_LUA });
      client.defineCommand('gateAdmit', { numberOfKeys: 10, lua: ADMIT_LUA });
      client.defineCommand('gateRelease', { numberOfKeys: 6, lua: RELEASE_LUA });
      client.defineCommand('gateClear', { numberOfKeys: 4, lua: CLEAR_LUA });
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

  /** The bucket count this process learnt less than LAYOUT_TTL_MS ago, or undefined. */
  knownBuckets(saleId: string): number | undefined {
    const known = this.layouts.get(saleId);
    return known && Date.now() - known.at < LAYOUT_TTL_MS ? known.buckets : undefined;
  }

  /**
   * How many buckets a sale has, as this process last learnt it (at most
   * LAYOUT_TTL_MS ago, unless `fresh`); an admission in the wrong layout is
   * answered LAYOUT by the script and sent again, so a stale value never admits wrongly.
   */
  async bucketsOf(saleId: string, { fresh = false }: { fresh?: boolean } = {}): Promise<number> {
    if (fresh) return this.readBuckets(saleId);
    const known = this.knownBuckets(saleId);
    if (known !== undefined) return known;
    // The admissions that find the knowledge stale at the same moment share one read.
    let reading = this.reading.get(saleId);
    if (!reading) {
      reading = this.readBuckets(saleId).finally(() => this.reading.delete(saleId));
      this.reading.set(saleId, reading);
    }
    return reading;
  }

  private async readBuckets(saleId: string): Promise<number> {
    const value = await this.redis.hget(this.bucketsKey, saleId);
    const buckets = value === null ? 1 : Number(value);
    this.learnt(saleId, buckets);
    return buckets;
  }

  /** Notes a sale's bucket count (from a script's answer or a rebuild's write). */
  learnt(saleId: string, buckets: number): void {
    this.layouts.set(saleId, { buckets, at: Date.now() });
  }

  /** Forgets a sale's layout (its gate was removed). */
  forget(saleId: string): void {
    this.layouts.delete(saleId);
  }

  /** The keys of every bucket of a sale. */
  async everyBucket(saleId: string): Promise<GateKeys[]> {
    const buckets = await this.bucketsOf(saleId);
    return Array.from({ length: buckets }, (_, b) => this.bucketKeys(saleId, b, buckets));
  }

  /** The keys of the bucket that holds a shopper's count (see homeBucket). */
  async homeKeys(saleId: string, userId: string): Promise<GateKeys> {
    const buckets = await this.bucketsOf(saleId);
    return this.bucketKeys(saleId, homeBucket(userId, buckets), buckets);
  }
}
