import { Global, Module, type DynamicModule, type Type } from '@nestjs/common';
import { infrastructure } from './app.module.js';
import { OutboxRelay } from './events/outbox-relay.js';
import { OutboxRepository } from './events/outbox.repository.js';
import type { AppConfig } from './infra/config/app-config.js';
import { TICKET_JOB_GUARDS } from './gate/tickets.js';
import { JobWorkersModule } from './infra/queues/job-workers.js';
import { PAYLOAD_GUARDS } from './infra/queues/on-job.js';
import { OPS_JOB_GUARDS, parseWorkerQueues, QueueName, type PayloadGuards } from './infra/queues/queues.js';
import { INVENTORY_EVENT_GUARDS } from './inventory/inventory.events.js';
import { InventoryModule } from './inventory/inventory.module.js';
import { InventoryProcessor } from './inventory/inventory.processor.js';
import { NotificationsModule } from './notifications/notifications.module.js';
import { NotificationsProcessor } from './notifications/notifications.processor.js';
import { SEND_JOB_GUARDS } from './notifications/send-jobs.js';
import { SendProcessor } from './notifications/send.processors.js';
import { OpsProcessor } from './ops/ops.processor.js';
import { WorkerOpsModule } from './ops/worker-ops.module.js';
import { ORDER_EVENT_GUARDS, ORDER_JOB_GUARDS } from './orders/order.events.js';
import { OrdersModule } from './orders/orders.module.js';
import { OrdersProcessor } from './orders/orders.processor.js';
import { TimeoutsProcessor } from './orders/timeouts.processor.js';
import { SaleAdminModule } from './sale-admin/sale-admin.module.js';
import { SALE_JOB_GUARDS } from './sale-admin/sale.jobs.js';
import { SalesProcessor } from './sale-admin/sales.processor.js';
import { RoomAdmitterModule, RoomModule } from './room/room.module.js';

/**
 * The consumer class of each queue (its `@OnJob` methods say what it handles)
 * and the modules its services come from.
 */
export const CONSUMERS: { readonly [Q in QueueName]: { processor: Type; imports: Type[] } } = {
  [QueueName.Ops]: { processor: OpsProcessor, imports: [] },
  [QueueName.Promotions]: { processor: SalesProcessor, imports: [SaleAdminModule, RoomModule, RoomAdmitterModule] },
  [QueueName.Orders]: { processor: OrdersProcessor, imports: [OrdersModule] },
  [QueueName.Inventory]: { processor: InventoryProcessor, imports: [InventoryModule] },
  [QueueName.Notifications]: { processor: NotificationsProcessor, imports: [NotificationsModule] },
  [QueueName.Email]: { processor: SendProcessor, imports: [NotificationsModule] },
  [QueueName.Sms]: { processor: SendProcessor, imports: [NotificationsModule] },
  [QueueName.Timeouts]: { processor: TimeoutsProcessor, imports: [OrdersModule] },
};

/**
 * The payload guard of every job and event, each declared by its module next
 * to the payload's type (JobData, EventPayloads); the workers check every job
 * with its guard before the handler runs. The type makes this list complete.
 */
export const payloadGuards: PayloadGuards = {
  ...OPS_JOB_GUARDS,
  ...SALE_JOB_GUARDS,
  ...TICKET_JOB_GUARDS,
  ...ORDER_JOB_GUARDS,
  ...SEND_JOB_GUARDS,
  ...ORDER_EVENT_GUARDS,
  ...INVENTORY_EVENT_GUARDS,
};

/** The payload guards, for JobWorkers. */
@Global()
@Module({ providers: [{ provide: PAYLOAD_GUARDS, useValue: payloadGuards }], exports: [PAYLOAD_GUARDS] })
class PayloadGuardsModule {}

/**
 * A worker process: no HTTP, consumes the queues WORKER_QUEUES names (the
 * workers themselves are built by JobWorkers), relays the outbox.
 */
@Module({})
export class WorkerModule {
  static forRoot(config: AppConfig): DynamicModule {
    const chosen = parseWorkerQueues(config.WORKER_QUEUES).map((q) => CONSUMERS[q]);
    return {
      module: WorkerModule,
      imports: [
        ...infrastructure(config),
        PayloadGuardsModule,
        JobWorkersModule,
        WorkerOpsModule,
        ...new Set(chosen.flatMap((c) => c.imports)),
      ],
      // One consumer may serve several queues (email and SMS): provided once.
      providers: [...new Set(chosen.map((c) => c.processor)), OutboxRelay, OutboxRepository],
    };
  }
}
