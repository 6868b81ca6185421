import { Global, Module } from '@nestjs/common';
import { MetricsRegistry } from './metrics.registry.js';

/**
 * This process's Prometheus registry, for every module to add its own
 * metrics to (a module's metrics live in it); ops serves them.
 */
@Global()
@Module({ providers: [MetricsRegistry], exports: [MetricsRegistry] })
export class MetricsModule {}
