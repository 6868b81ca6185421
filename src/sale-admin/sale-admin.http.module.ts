import { Module } from '@nestjs/common';
import { BotsModule } from '../bots/bots.module.js';
import { RoomModule } from '../room/room.module.js';
import { SalesModule } from '../sales/sales.module.js';
import { AdminSalesController } from './admin-sales.controller.js';
import { RoomAdminService } from './room-admin.service.js';
import { SaleAdminModule } from './sale-admin.module.js';

/** The HTTP side: the admin's sale routes (create, change, preheat, pause, end, delete, reconcile, the waiting room). */
@Module({
  imports: [SaleAdminModule, SalesModule, RoomModule, BotsModule],
  controllers: [AdminSalesController],
  providers: [RoomAdminService],
})
export class SaleAdminHttpModule {}
