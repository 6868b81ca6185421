import { Module } from '@nestjs/common';
import { GateModule } from '../gate/gate.module.js';
import { InventoryModule } from '../inventory/inventory.module.js';
import { OrdersModule } from '../orders/orders.module.js';
import { SalesService } from './sales.service.js';
import { ReconcileService } from './reconcile.service.js';
import { SaleLookup } from './sale-lookup.js';
import { SalesRepository } from './sales.repository.js';

/** Sale management and preheat; used by the API and by the workers of the promotions queue. */
@Module({
  imports: [GateModule, OrdersModule, InventoryModule],
  providers: [SalesRepository, SalesService, ReconcileService, SaleLookup],
  exports: [SalesRepository, SalesService, ReconcileService, SaleLookup, GateModule],
})
export class SalesModule {}
