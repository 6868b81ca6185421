import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module.js';
import { InventoryRepository } from './inventory.repository.js';
import { InventoryService } from './inventory.service.js';
import { StockOfRecord } from './stock-of-record.js';

/** The stock of record: reacts to order events (worker side); StockOfRecord for the other modules (open, move, read). */
@Module({
  imports: [EventsModule],
  providers: [InventoryRepository, InventoryService, StockOfRecord],
  exports: [InventoryService, StockOfRecord],
})
export class InventoryModule {}
