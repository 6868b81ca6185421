import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module.js';
import { GateModule } from '../gate/gate.module.js';
import { InventoryService } from './inventory.service.js';

@Module({ imports: [EventsModule, GateModule], providers: [InventoryService], exports: [InventoryService] })
export class InventoryModule {}
