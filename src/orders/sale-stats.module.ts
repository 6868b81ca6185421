import { Module } from '@nestjs/common';
import { GateModule } from '../gate/gate.module.js';
import { SalesModule } from '../sales/sales.module.js';
import { OrdersModule } from './orders.module.js';
import { SaleStatsService } from './sale-stats.service.js';

/** A sale's figures (gate, orders by status, backlog) for the admin stats route and the live view. */
@Module({
  imports: [OrdersModule, SalesModule, GateModule],
  providers: [SaleStatsService],
  exports: [SaleStatsService],
})
export class SaleStatsModule {}
