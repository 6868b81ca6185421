import { Module } from '@nestjs/common';
import { GateAdmission } from './gate-admission.js';
import { GateLayout } from './gate-layout.js';
import { GateReadModel } from './gate-read-model.js';
import { GateRebuild } from './gate-rebuild.js';
import { GateTickets } from './gate-tickets.js';

/**
 * The Redis adapter of admission, in parts that share one layout: the hot
 * path (GateAdmission), building and repairing a gate (GateRebuild), the
 * ticket store (GateTickets) and the read side (GateReadModel). A caller
 * injects the part it uses.
 */
@Module({
  providers: [GateLayout, GateAdmission, GateRebuild, GateTickets, GateReadModel],
  exports: [GateLayout, GateAdmission, GateRebuild, GateTickets, GateReadModel],
})
export class GateModule {}
