import { Module } from '@nestjs/common';
import { BotsModule } from '../bots/bots.module.js';
import { GateModule } from '../gate/gate.module.js';
import { DoorsModule } from '../overload/overload.module.js';
import { SalesModule } from '../sales/sales.module.js';
import { RoomAdmitter } from './room-admitter.js';
import { RoomMetrics } from './room.metrics.js';
import { RoomRates } from './room-rates.js';
import { RoomService } from './room.service.js';
import { RoomStore } from './room.store.js';
import { RoomTokens } from './room-tokens.js';
import { RoomTurns } from './room-turns.js';
import { ShedGrace } from './shed-grace.js';

/**
 * The waiting room's core, for the API (the queue routes, the purchase
 * path's admission check) and the workers (the end of a shopper's turn).
 */
@Module({
  imports: [SalesModule, BotsModule],
  providers: [RoomStore, RoomTokens, RoomService, RoomTurns, RoomMetrics],
  exports: [RoomStore, RoomTokens, RoomService, RoomTurns, RoomMetrics],
})
export class RoomModule {}

/** The admitter: in the workers that serve the promotions queue. */
@Module({
  imports: [RoomModule, SalesModule, GateModule, DoorsModule],
  providers: [RoomAdmitter, RoomRates, ShedGrace],
  exports: [RoomAdmitter],
})
export class RoomAdmitterModule {}
