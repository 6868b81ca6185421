import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/auth.decorators.js';
import { PrismaService } from '../infra/prisma/prisma.service.js';
import { RedisService } from '../infra/redis/redis.module.js';

type State = 'up' | 'down';

export interface HealthBody {
  status: 'ok' | 'error';
  postgres: State;
  redis: State;
}

const PROBE_TIMEOUT_MS = 1500;

function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

@Controller('health')
@Public()
export class HealthController {
  constructor(
    @Inject(PrismaService) private readonly prisma: PrismaService,
    @Inject(RedisService) private readonly redis: RedisService,
  ) {}

  /** 200 when Postgres and Redis both answer; 503 naming the one(s) down. */
  @Get()
  async check(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthBody | object> {
    const [postgres, redis] = await Promise.all([this.postgres(), this.redisState()]);
    void reply.header('cache-control', 'no-store');
    if (postgres === 'up' && redis === 'up') return { status: 'ok', postgres, redis };
    const down = [postgres === 'down' && 'postgres', redis === 'down' && 'redis'].filter(Boolean).join(' and ');
    void reply.status(503);
    return { statusCode: 503, code: 'UNHEALTHY', message: `${down} is down`, status: 'error', postgres, redis };
  }

  private async postgres(): Promise<State> {
    try {
      await within(PROBE_TIMEOUT_MS, this.prisma.$queryRaw`SELECT 1`);
      return 'up';
    } catch {
      return 'down';
    }
  }

  private async redisState(): Promise<State> {
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
