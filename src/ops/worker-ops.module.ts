import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { JobMetrics } from './metrics/job.metrics.js';
import { WorkerOpsServer } from './worker-ops.server.js';

/** The worker side of ops: job counters and the listener for /metrics and the health probes. */
@Module({ imports: [DiscoveryModule], providers: [JobMetrics, WorkerOpsServer] })
export class WorkerOpsModule {}
