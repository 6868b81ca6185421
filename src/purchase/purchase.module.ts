import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { GateModule } from '../gate/gate.module.js';
import { SalesModule } from '../sales/sales.module.js';
import { RoomModule } from '../room/room.module.js';
import { AdmissionService } from './admission.service.js';
import { GateMetrics } from './gate.metrics.js';
import { PurchaseController } from './purchase.controller.js';
import { SoldOutFlags } from './sold-out-flags.js';
import { SoldOutShortcut } from './sold-out-shortcut.js';
import { TicketHandoff } from './ticket-handoff.js';

/**
 * Buying, in the API process: the purchase route, the admission (one Lua
 * call through the gate), the local sold-out flags and the shortcut that
 * answers the crowd after the last unit, and the hand-off of admitted
 * tickets to the workers in batches.
 */
@Module({
  imports: [GateModule, SalesModule, AuthModule, RoomModule],
  controllers: [PurchaseController],
  providers: [AdmissionService, SoldOutFlags, SoldOutShortcut, TicketHandoff, GateMetrics],
})
export class PurchaseModule {}
