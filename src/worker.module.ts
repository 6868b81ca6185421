import { Module, type DynamicModule, type Type } from '@nestjs/common';
import { infrastructure } from './app.module.js';
import { OutboxRelay } from './events/outbox-relay.js';
import { OutboxRepository } from './events/outbox.repository.js';
import type { AppConfig } from './infra/config/app-config.js';
import { JobWorkersModule } from './infra/queues/job-workers.js';
import { parseWorkerQueues, QueueName } from './infra/queues/queues.js';
import { InventoryModule } from './inventory/inventory.module.js';
import { InventoryProcessor } from './inventory/inventory.processor.js';
import { NotificationsModule } from './notifications/notifications.module.js';
import { NotificationsProcessor } from './notifications/notifications.processor.js';
import { SendProcessor } from './notifications/send.processors.js';
import { OpsProcessor } from './ops/ops.processor.js';
import { WorkerOpsModule } from './ops/worker-ops.module.js';
import { OrdersModule } from './orders/orders.module.js';
import { OrdersProcessor } from './orders/orders.processor.js';
import { TimeoutsProcessor } from './orders/timeouts.processor.js';
import { SaleAdminModule } from './sale-admin/sale-admin.module.js';
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
        JobWorkersModule,
        WorkerOpsModule,
        ...new Set(chosen.flatMap((c) => c.imports)),
      ],
      // One consumer may serve several queues (email and SMS): provided once.
      providers: [...new Set(chosen.map((c) => c.processor)), OutboxRelay, OutboxRepository],
    };
  }
}
