import { Module } from '@nestjs/common';
import { InventoryModule } from '../inventory/inventory.module.js';
import { SaleCatalog } from './sale-catalog.js';
import { SaleLookup } from './sale-lookup.js';
import { SalesRepository } from './sales.repository.js';

/**
 * The sale catalog: owns `sales`. SaleLookup is the narrow, cached read of
 * the crowd's paths; SaleCatalog the rows with their stock of record, for the
 * admin's use cases above this module.
 */
@Module({
  imports: [InventoryModule],
  providers: [SalesRepository, SaleCatalog, SaleLookup],
  exports: [SaleCatalog, SaleLookup],
})
export class SalesModule {}
