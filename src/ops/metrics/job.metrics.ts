import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { Job } from 'bullmq';
import { JobWorkers } from '../../infra/queues/job-workers.js';
import { Counter, Histogram } from 'prom-client';
import { MetricsRegistry } from '../../infra/metrics/metrics.registry.js';

/**
 * Jobs this worker process finished, per queue: completed, failed attempts
 * (a job retried 3 times counts 3; the dead letters are the `failed` state of
 * flash_queue_jobs), and how long each took. Fed by the BullMQ workers'
 * events (the workers this process runs).
 */
@Injectable()
export class JobMetrics implements OnApplicationBootstrap {
  private readonly completed: Counter<'queue'>;
  private readonly failed: Counter<'queue'>;
  private readonly duration: Histogram<'queue'>;

  constructor(
    @Inject(MetricsRegistry) metrics: MetricsRegistry,
    @Inject(JobWorkers) private readonly workers: JobWorkers,
  ) {
    const registers = [metrics.registry];
    this.completed = new Counter({
      name: 'flash_jobs_completed_total',
      help: 'Jobs this worker process completed, by queue',
      labelNames: ['queue'],
      registers,
    });
    this.failed = new Counter({
      name: 'flash_jobs_failed_total',
      help: 'Job attempts that failed in this worker process, by queue (each retry counts)',
      labelNames: ['queue'],
      registers,
    });
    this.duration = new Histogram({
      name: 'flash_job_duration_seconds',
      help: 'Time from a job being picked up to its completion in this worker process, by queue',
      labelNames: ['queue'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
  }

  onApplicationBootstrap(): void {
    for (const [queue, worker] of this.workers.all()) {
      this.completed.inc({ queue }, 0);
      this.failed.inc({ queue }, 0);
      worker.on('completed', (job: Job) => {
        this.completed.inc({ queue });
        if (job.processedOn && job.finishedOn)
          this.duration.observe({ queue }, (job.finishedOn - job.processedOn) / 1000);
      });
      worker.on('failed', () => this.failed.inc({ queue }));
    }
  }
}
