import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module.js';
import { InventoryService } from './inventory.service.js';

@Module({ imports: [EventsModule], providers: [InventoryService], exports: [InventoryService] })
export class InventoryModule {}
