import { Module } from '@nestjs/common';
import { JobWorkersModule } from '../infra/queues/job-workers.js';
import { JobMetrics } from './metrics/job.metrics.js';
import { WorkerOpsServer } from './worker-ops.server.js';

/** The worker side of ops: job counters and the listener for /metrics and the health probes. */
@Module({ imports: [JobWorkersModule], providers: [JobMetrics, WorkerOpsServer] })
export class WorkerOpsModule {}
