import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { GateModule } from '../gate/gate.module.js';
import { RedisEpoch } from '../infra/redis/redis-epoch.js';
import { AdminOrdersController } from './admin-orders.controller.js';
import { OpenStreams } from './open-streams.js';
import { OrderEventsHub } from './order-events.hub.js';
import { OrderLifecycleController } from './order-lifecycle.controller.js';
import { OrdersController } from './orders.controller.js';
import { OrdersModule } from './orders.module.js';
import { OrdersService } from './orders.service.js';
import { SaleStatsModule } from './sale-stats.module.js';

/** The HTTP side: reading, paying and cancelling orders, their live status, sale stats. */
@Module({
  imports: [OrdersModule, GateModule, SaleStatsModule, AuthModule],
  controllers: [OrdersController, OrderLifecycleController, AdminOrdersController],
  providers: [OrdersService, OrderEventsHub, OpenStreams, RedisEpoch],
})
export class OrdersHttpModule {}
