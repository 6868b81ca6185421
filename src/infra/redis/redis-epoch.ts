import { Inject, Injectable } from '@nestjs/common';
import { RedisConfig } from '../config/app-config.js';
import { RedisService } from './redis.module.js';

/**
 * KEYS: the epoch hash. ARGV: now (ms). The Redis instance now serving
 * (its run_id changes on every restart, and on a failover to a replica)
 * compared with the one recorded: the same, its `since` stands; another (or
 * none recorded: Redis came back empty), it is recorded with `since` = now.
 * Returns `since`.
 */
const EPOCH_LUA = `
local run = string.match(redis.call('INFO', 'server'), 'run_id:(%w+)')
local known = redis.call('HMGET', KEYS[1], 'run', 'since')
if known[1] == run and known[2] then return known[2] end
redis.call('HSET', KEYS[1], 'run', run, 'since', ARGV[1])
return ARGV[1]
`;

/**
 * Since when the Redis that serves now has been serving: the moment the
 * first process noticed it (a restart, with or without its data, or a
 * failover to a replica). Whatever Redis held for an admission made before
 * that moment either survived in it or is gone for good: an order id older
 * than `since()` that is in neither Redis nor Postgres was lost with Redis's
 * data. Asked only on that rare path (an order not found), so no process
 * needs to watch for restarts. One node holds the record: on a Redis
 * Cluster, the restart of another node is not seen here.
 */
@Injectable()
export class RedisEpoch {
  private readonly key: string;

  constructor(
    @Inject(RedisService) private readonly redis: RedisService,
    @Inject(RedisConfig) config: RedisConfig,
  ) {
    this.key = `${config.REDIS_KEY_PREFIX}:redis-epoch`;
  }

  async since(): Promise<number> {
    return Number(await this.redis.client.eval(EPOCH_LUA, 1, this.key, Date.now()));
  }
}
