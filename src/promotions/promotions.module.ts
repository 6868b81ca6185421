import { Module } from '@nestjs/common';
import { GateModule } from '../gate/gate.module.js';
import { InventoryModule } from '../inventory/inventory.module.js';
import { OrdersModule } from '../orders/orders.module.js';
import { PromotionsService } from './promotions.service.js';
import { ReconcileService } from './reconcile.service.js';
import { SaleLookup } from './sale-lookup.js';
import { SalesRepository } from './sales.repository.js';

/** Sale management and preheat; used by the API and by the promotions worker. */
@Module({
  imports: [GateModule, OrdersModule, InventoryModule],
  providers: [SalesRepository, PromotionsService, ReconcileService, SaleLookup],
  exports: [SalesRepository, PromotionsService, ReconcileService, SaleLookup, GateModule],
})
export class PromotionsModule {}
