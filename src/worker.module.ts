import { Module, type DynamicModule, type Type } from '@nestjs/common';
import type { WorkerHost } from '@nestjs/bullmq';
import { infrastructure } from './app.module.js';
import type { AppConfig } from './infra/config/app-config.js';
import { ALL_QUEUES, JOB_QUEUE, JobName, QueueName, parseWorkerQueues } from './infra/queues/queues.js';
import { OpsProcessor } from './ops/ops.processor.js';
import { PromotionsModule } from './promotions/promotions.module.js';
import { PromotionsProcessor } from './promotions/promotions.processor.js';

type ProcessorClass = Type<WorkerHost> & { readonly handles: readonly JobName[] };

/** The consumer of each queue, with the modules its services come from. */
const CONSUMERS: { readonly [Q in QueueName]: { processor: ProcessorClass; imports: Type[] } } = {
  [QueueName.Ops]: { processor: OpsProcessor, imports: [] },
  [QueueName.Promotions]: { processor: PromotionsProcessor, imports: [PromotionsModule] },
};

/** Refuses to boot when a job could sit in a queue with nobody to handle it. */
export function assertEveryJobHandled(): void {
  const missing = Object.values(JobName).filter((job) => !CONSUMERS[JOB_QUEUE[job]].processor.handles.includes(job));
  const orphans = ALL_QUEUES.filter((q) => !(q in CONSUMERS));
  if (missing.length || orphans.length) {
    throw new Error(`jobs without a handler: ${[...missing, ...orphans].join(', ')}`);
  }
}

/** A worker process: no HTTP, consumes the queues WORKER_QUEUES names. */
@Module({})
export class WorkerModule {
  static forRoot(config: AppConfig): DynamicModule {
    assertEveryJobHandled();
    const queues = parseWorkerQueues(config.WORKER_QUEUES);
    const chosen = queues.map((q) => CONSUMERS[q]);
    return {
      module: WorkerModule,
      imports: [...infrastructure(config), ...new Set(chosen.flatMap((c) => c.imports))],
      providers: chosen.map((c) => c.processor),
    };
  }
}
