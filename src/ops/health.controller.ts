import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/auth.decorators.js';
import { Answers } from '../infra/openapi/answers.js';
import { HealthDto, LivenessDto } from './health-views.dto.js';
import { downStores, HealthProbes, type StoreState } from './health-probes.js';
import { Readiness } from './readiness.js';

export interface HealthBody {
  status: 'ok' | 'error';
  postgres: StoreState;
  redis: StoreState;
}

export interface UnhealthyBody {
  statusCode: 503;
  code: 'UNHEALTHY';
  message: string;
  status: 'error' | 'draining';
  postgres?: StoreState;
  redis?: StoreState;
}

const STORES_UP = { status: 'ok', postgres: 'up', redis: 'up' };

@ApiTags('ops')
@Controller('health')
@Public()
export class HealthController {
  constructor(
    @Inject(HealthProbes) private readonly probes: HealthProbes,
    @Inject(Readiness) private readonly readiness: Readiness,
  ) {}

  /** 200 when Postgres and Redis both answer; 503 naming the one(s) down. */
  @Get()
  @Answers({ status: 200, body: HealthDto, example: STORES_UP, errors: ['UNHEALTHY'] })
  async check(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthBody | UnhealthyBody> {
    void reply.header('cache-control', 'no-store');
    return this.storesAnswer(reply);
  }

  /** Liveness: the process runs and its event loop answers (no store is asked). Restart it when this fails. */
  @Get('live')
  @Answers({ status: 200, body: LivenessDto, example: { status: 'ok' } })
  live(@Res({ passthrough: true }) reply: FastifyReply): { status: 'ok' } {
    void reply.header('cache-control', 'no-store');
    return { status: 'ok' };
  }

  /**
   * Readiness: send this copy traffic. 503 once it is shutting down (before
   * it stops accepting) or while Postgres or Redis does not answer.
   */
  @Get('ready')
  @Answers({ status: 200, body: HealthDto, example: STORES_UP, errors: ['UNHEALTHY'] })
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthBody | UnhealthyBody> {
    void reply.header('cache-control', 'no-store');
    if (this.readiness.isDraining) {
      void reply.status(503);
      return { statusCode: 503, code: 'UNHEALTHY', message: 'shutting down', status: 'draining' };
    }
    return this.storesAnswer(reply);
  }

  private async storesAnswer(reply: FastifyReply): Promise<HealthBody | UnhealthyBody> {
    const { postgres, redis } = await this.probes.stores();
    if (postgres === 'up' && redis === 'up') return { status: 'ok', postgres, redis };
    void reply.status(503);
    const message = `${downStores({ postgres, redis })} is down`;
    return { statusCode: 503, code: 'UNHEALTHY', message, status: 'error', postgres, redis };
  }
}
