import { timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { OpsConfig } from '../config/app-config.js';
import { PrismaService } from '../prisma/prisma.service.js';

/**
 * This process's Prometheus registry (one per application, so an API and a
 * worker in one test process do not collide): the process defaults
 * (CPU, memory, GC, handles, event-loop lag) and the Postgres pool. Other
 * providers add their metrics to it.
 */
@Injectable()
export class MetricsRegistry {
  readonly registry = new Registry();
  private readonly token: Buffer | null;

  constructor(@Inject(OpsConfig) config: OpsConfig, @Inject(PrismaService) prisma: PrismaService) {
    this.token = config.METRICS_TOKEN ? Buffer.from(`Bearer ${config.METRICS_TOKEN}`) : null;
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 10 });
    const pool = prisma.pool;
    new Gauge({
      name: 'flash_pg_pool_connections',
      help: 'Postgres pool connections of this process by state (total = idle + in use)',
      labelNames: ['state'],
      registers: [this.registry],
      collect() {
        this.set({ state: 'total' }, pool.totalCount);
        this.set({ state: 'idle' }, pool.idleCount);
      },
    });
    new Gauge({
      name: 'flash_pg_pool_waiting_clients',
      help: 'Queries of this process waiting for a Postgres connection',
      registers: [this.registry],
      collect() {
        this.set(pool.waitingCount);
      },
    });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  /** With METRICS_TOKEN set, only `Authorization: Bearer <token>` may scrape. */
  mayScrape(authorization: string | undefined): boolean {
    if (!this.token) return true;
    const given = Buffer.from(authorization ?? '');
    return given.length === this.token.length && timingSafeEqual(given, this.token);
  }
}

/**
 * A gauge read at scrape time: `read` sets its values afresh each scrape.
 * When it fails (a store is down) the gauge is left empty rather than stale,
 * and the rest of the scrape still answers.
 */
export function scrapedGauge<L extends string>(
  options: { name: string; help: string; labelNames?: readonly L[]; registry: Registry },
  read: (gauge: Gauge<L>) => Promise<void>,
): Gauge<L> {
  return new Gauge<L>({
    name: options.name,
    help: options.help,
    labelNames: options.labelNames ?? [],
    registers: [options.registry],
    async collect() {
      this.reset();
      await read(this).catch(() => this.reset());
    },
  });
}
