import { Global, Module } from '@nestjs/common';
import { HealthProbes } from './health-probes.js';
import { GateMetrics } from './metrics/gate.metrics.js';
import { MetricsRegistry } from './metrics/metrics.registry.js';
import { Readiness } from './readiness.js';

/**
 * What every process has, API and worker alike: its metrics registry (process
 * defaults, Postgres pool), the gate-decision counter, store probes and the
 * readiness flag. Global, so the admission code can inject GateMetrics.
 */
@Global()
@Module({
  providers: [MetricsRegistry, GateMetrics, HealthProbes, Readiness],
  exports: [MetricsRegistry, GateMetrics, HealthProbes, Readiness],
})
export class OpsCoreModule {}
