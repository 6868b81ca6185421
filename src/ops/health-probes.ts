import { Inject, Injectable } from '@nestjs/common';
import { PrismaService } from '../infra/prisma/prisma.service.js';
import { RedisService } from '../infra/redis/redis.module.js';

export type StoreState = 'up' | 'down';

const PROBE_TIMEOUT_MS = 1500;

function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** Postgres and Redis each answer a trivial query within 1.5 s, or count as down. */
@Injectable()
export class HealthProbes {
  constructor(
    @Inject(PrismaService) private readonly prisma: PrismaService,
    @Inject(RedisService) private readonly redis: RedisService,
  ) {}

  async stores(): Promise<{ postgres: StoreState; redis: StoreState }> {
    const [postgres, redis] = await Promise.all([this.postgres(), this.redisState()]);
    return { postgres, redis };
  }

  async postgres(): Promise<StoreState> {
    try {
      await within(PROBE_TIMEOUT_MS, this.prisma.$queryRaw`SELECT 1`);
      return 'up';
    } catch {
      return 'down';
    }
  }

  async redisState(): Promise<StoreState> {
    // A client that is reconnecting queues the PING: the timeout bounds the wait.
    if (this.redis.client.status === 'end') return 'down';
    try {
      await within(PROBE_TIMEOUT_MS, this.redis.client.ping());
      return 'up';
    } catch {
      return 'down';
    }
  }
}

/** "postgres and redis", "redis": the stores that are down, for a message. */
export function downStores(states: Record<string, StoreState>): string {
  return Object.entries(states)
    .filter(([, state]) => state === 'down')
    .map(([name]) => name)
    .join(' and ');
}
