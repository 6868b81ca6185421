import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { AdmissionService } from '../gate/admission.service.js';
import { SoldOutFlags } from '../gate/sold-out-flags.js';
import { PromotionsHttpModule } from '../promotions/promotions.http.module.js';
import { PromotionsModule } from '../promotions/promotions.module.js';
import { AdminOrdersController } from './admin-orders.controller.js';
import { OpenStreams } from './open-streams.js';
import { OrderEventsHub } from './order-events.hub.js';
import { OrderLifecycleController } from './order-lifecycle.controller.js';
import { OrdersController } from './orders.controller.js';
import { OrdersModule } from './orders.module.js';
import { OrdersService } from './orders.service.js';
import { PurchaseController } from './purchase.controller.js';
import { SaleStatsService } from './sale-stats.service.js';
import { SoldOutShortcut } from './sold-out-shortcut.js';

/** The HTTP side: buying (admission), reading, paying and cancelling orders, their live status, sale stats. */
@Module({
  imports: [OrdersModule, PromotionsModule, PromotionsHttpModule, AuthModule],
  controllers: [PurchaseController, OrdersController, OrderLifecycleController, AdminOrdersController],
  providers: [
    AdmissionService,
    SoldOutFlags,
    SoldOutShortcut,
    OrdersService,
    OrderEventsHub,
    SaleStatsService,
    OpenStreams,
  ],
})
export class OrdersHttpModule {}
