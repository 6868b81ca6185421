import { Global, Module } from '@nestjs/common';
import { HealthProbes } from './health-probes.js';
import { Readiness } from './readiness.js';

/** What every process has, API and worker alike: store probes and the readiness flag. */
@Global()
@Module({
  providers: [HealthProbes, Readiness],
  exports: [HealthProbes, Readiness],
})
export class OpsCoreModule {}
