import { Module } from '@nestjs/common';
import { GateModule } from '../gate/gate.module.js';
import { InventoryModule } from '../inventory/inventory.module.js';
import { OrdersModule } from '../orders/orders.module.js';
import { SalesModule } from '../sales/sales.module.js';
import { RoomModule } from '../room/room.module.js';
import { OrdersOfRecordReader } from './orders-of-record.js';
import { ReconcileService } from './reconcile.service.js';
import { SalesService } from './sales.service.js';

/**
 * Running sales against the orders of record, above the sale catalog and the
 * orders: the admin's sale management (a stock change of a sale split into
 * buckets and the preheat rebuild the gate from the orders; a sale with
 * orders cannot be deleted), reconcile and repair, and healing stuck orders.
 * Used by the API and by the workers of the promotions queue.
 */
@Module({
  imports: [GateModule, SalesModule, OrdersModule, InventoryModule, RoomModule],
  providers: [SalesService, ReconcileService, OrdersOfRecordReader],
  exports: [SalesService, ReconcileService],
})
export class SaleAdminModule {}
