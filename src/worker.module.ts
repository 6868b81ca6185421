import { Module, type DynamicModule, type Type } from '@nestjs/common';
import { Processor, type WorkerHost } from '@nestjs/bullmq';
import { infrastructure } from './app.module.js';
import { OutboxRelay } from './events/outbox-relay.js';
import { OutboxRepository } from './events/outbox.repository.js';
import type { AppConfig } from './infra/config/app-config.js';
import { ALL_QUEUES, cappedBackoff, jobsOf, QueueName, parseWorkerQueues } from './infra/queues/queues.js';
import { InventoryModule } from './inventory/inventory.module.js';
import { InventoryProcessor } from './inventory/inventory.processor.js';
import { NotificationsModule } from './notifications/notifications.module.js';
import { NotificationsProcessor } from './notifications/notifications.processor.js';
import { EmailProcessor, SmsProcessor } from './notifications/send.processors.js';
import { OpsProcessor } from './ops/ops.processor.js';
import { WorkerOpsModule } from './ops/worker-ops.module.js';
import { OrdersModule } from './orders/orders.module.js';
import { OrdersProcessor } from './orders/orders.processor.js';
import { TimeoutsProcessor } from './orders/timeouts.processor.js';
import { SalesModule } from './sales/sales.module.js';
import { SalesProcessor } from './sales/sales.processor.js';

type ProcessorClass = Type<WorkerHost> & { readonly handles: readonly string[] };

interface Consumer {
  processor: ProcessorClass;
  imports: Type[];
  /** Jobs at once per process: high where jobs are batched into transactions. */
  batched: boolean;
  /** Jobs at once per process when not batched (default 1). */
  concurrency?: (config: AppConfig) => number;
}

/** The consumer of each queue, with the modules its services come from. */
const CONSUMERS: { readonly [Q in QueueName]: Consumer } = {
  [QueueName.Ops]: { processor: OpsProcessor, imports: [], batched: false },
  [QueueName.Promotions]: { processor: SalesProcessor, imports: [SalesModule], batched: false },
  [QueueName.Orders]: { processor: OrdersProcessor, imports: [OrdersModule], batched: true },
  [QueueName.Inventory]: { processor: InventoryProcessor, imports: [InventoryModule], batched: true },
  [QueueName.Notifications]: { processor: NotificationsProcessor, imports: [NotificationsModule], batched: true },
  // One message per job, waiting on a remote server: as many at once as NOTIFY_CONCURRENCY.
  [QueueName.Email]: {
    processor: EmailProcessor,
    imports: [NotificationsModule],
    batched: false,
    concurrency: (c) => c.NOTIFY_CONCURRENCY,
  },
  [QueueName.Sms]: {
    processor: SmsProcessor,
    imports: [NotificationsModule],
    batched: false,
    concurrency: (c) => c.NOTIFY_CONCURRENCY,
  },
  // Expiries firing together are cancelled in one transaction.
  [QueueName.Timeouts]: { processor: TimeoutsProcessor, imports: [OrdersModule], batched: true },
};

/** Refuses to boot when a job could sit in a queue with nobody to handle it. */
export function assertEveryJobHandled(): void {
  const missing = ALL_QUEUES.flatMap((queue) => {
    const consumer = CONSUMERS[queue] as Consumer | undefined;
    if (!consumer) return [`queue ${queue}`];
    return jobsOf(queue)
      .filter((job) => !consumer.processor.handles.includes(job))
      .map((job) => `${job} on ${queue}`);
  });
  if (missing.length) throw new Error(`jobs without a handler: ${missing.join(', ')}`);
}

/** A worker process: no HTTP, consumes the queues WORKER_QUEUES names, relays the outbox. */
@Module({})
export class WorkerModule {
  static forRoot(config: AppConfig): DynamicModule {
    assertEveryJobHandled();
    const queues = parseWorkerQueues(config.WORKER_QUEUES);
    for (const queue of queues) {
      const { processor, batched, concurrency } = CONSUMERS[queue];
      // Worker options come from config, so the decorator is applied here, at boot.
      Processor(queue, {
        concurrency: batched ? config.WORKER_CONCURRENCY : (concurrency?.(config) ?? 1),
        lockDuration: config.JOB_LOCK_MS,
        stalledInterval: config.JOB_STALLED_INTERVAL_MS,
        settings: { backoffStrategy: cappedBackoff(config.JOB_BACKOFF_MAX_MS) },
      })(processor);
    }
    const chosen = queues.map((q) => CONSUMERS[q]);
    return {
      module: WorkerModule,
      imports: [...infrastructure(config), WorkerOpsModule, ...new Set(chosen.flatMap((c) => c.imports))],
      providers: [...chosen.map((c) => c.processor), OutboxRelay, OutboxRepository],
    };
  }
}
