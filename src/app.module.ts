import { Module, type DynamicModule, type Type } from '@nestjs/common';
import type { AppConfig } from './infra/config/app-config.js';
import { ConfigModule } from './infra/config/config.module.js';
import { loggingModule } from './infra/logging/logging.js';
import { MetricsModule } from './infra/metrics/metrics.module.js';
import { PrismaModule } from './infra/prisma/prisma.module.js';
import { QueuesModule } from './infra/queues/queues.module.js';
import { RedisModule } from './infra/redis/redis.module.js';
import { OpsCoreModule } from './ops/ops-core.module.js';
import { OpsModule } from './ops/ops.module.js';
import { AuthModule } from './auth/auth.module.js';
import { SaleAdminHttpModule } from './sale-admin/sale-admin.http.module.js';
import { SalesHttpModule } from './sales/sales.http.module.js';
import { OrdersHttpModule } from './orders/orders.http.module.js';
import { PurchaseModule } from './purchase/purchase.module.js';
import { NotificationsHttpModule } from './notifications/notifications.http.module.js';
import { OverloadModule } from './overload/overload.module.js';
import type { OverloadDoor } from './overload/door.js';
import { RoomHttpModule } from './room/room.http.module.js';
import { BotsHttpModule } from './bots/bots.http.module.js';

/** Infrastructure shared by the API and the worker. */
export function infrastructure(config: AppConfig): (DynamicModule | Type)[] {
  return [
    ConfigModule.forRoot(config),
    loggingModule(config),
    PrismaModule,
    RedisModule,
    QueuesModule,
    MetricsModule,
    OpsCoreModule,
  ];
}

/** The HTTP API: controllers and producers, no queue consumers. */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig, door: OverloadDoor): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ...infrastructure(config),
        OverloadModule.forRoot(door),
        OpsModule,
        AuthModule,
        SalesHttpModule,
        SaleAdminHttpModule,
        PurchaseModule,
        RoomHttpModule,
        BotsHttpModule,
        OrdersHttpModule,
        NotificationsHttpModule,
      ],
    };
  }
}
