import { Inject, Injectable } from '@nestjs/common';
import { ALL_QUEUES, type QueueName } from '../../infra/queues/queues.js';
import { QueueService } from '../../infra/queues/queues.module.js';
import { MetricsRegistry, scrapedGauge } from '../../infra/metrics/metrics.registry.js';

const STATES = ['wait', 'active', 'delayed', 'prioritized', 'waiting-children', 'failed', 'completed'] as const;

/**
 * Every queue's depth by state and the age of its oldest waiting job, read
 * from Redis when Prometheus scrapes (two calls per queue). The counts live
 * in Redis, so any API copy reports the whole system's queues, the workers'
 * included: aggregate with max() across copies, not sum().
 */
@Injectable()
export class QueueMetrics {
  constructor(@Inject(MetricsRegistry) metrics: MetricsRegistry, @Inject(QueueService) queues: QueueService) {
    const registry = metrics.registry;
    scrapedGauge(
      {
        name: 'flash_queue_jobs',
        help: 'Jobs in each BullMQ queue by state (failed = the dead letters kept for inspection)',
        labelNames: ['queue', 'state'],
        registry,
      },
      async (gauge) => {
        const counts = await Promise.all(ALL_QUEUES.map((q) => queues.queue(q).getJobCounts(...STATES)));
        ALL_QUEUES.forEach((queue, i) => {
          for (const state of STATES) gauge.set({ queue, state }, counts[i]![state] ?? 0);
        });
      },
    );
    scrapedGauge(
      {
        name: 'flash_queue_oldest_waiting_seconds',
        help: 'Age of the oldest job waiting in each queue since it became runnable (0 when none waits)',
        labelNames: ['queue'],
        registry,
      },
      async (gauge) => {
        const ages = await Promise.all(ALL_QUEUES.map((q) => oldestWaitingSeconds(queues, q)));
        ALL_QUEUES.forEach((queue, i) => gauge.set({ queue }, ages[i]!));
      },
    );
  }
}

async function oldestWaitingSeconds(queues: QueueService, name: QueueName): Promise<number> {
  const [oldest] = await queues.queue(name).getJobs(['wait'], 0, 0, true);
  if (!oldest) return 0;
  return Math.max(0, (Date.now() - oldest.timestamp - (oldest.delay ?? 0)) / 1000);
}
