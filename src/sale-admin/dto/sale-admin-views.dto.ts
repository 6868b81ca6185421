/** The answers of /admin/sales beyond the sale itself, as classes for the OpenAPI document. */
import { ApiProperty } from '@nestjs/swagger';
import { BotStatsDto } from '../../bots/bot-views.dto.js';
import { EXAMPLE } from '../../infra/openapi/examples.js';
import { SaleViewDto, WaitingRoomViewDto } from '../../sales/sale-views.dto.js';
import type { ReconcileReport } from '../reconcile.service.js';
import type { RoomReport } from '../room-admin.service.js';

export class SalePageDto {
  items!: SaleViewDto[];
  page!: number;
  pageSize!: number;
  total!: number;
}

export class GateFoundDto {
  exists!: boolean;
  remaining!: number | null;
}

export class ExpectedDto {
  remaining!: number;
}

export class BuyerDriftDto {
  userId!: string;
  /** The buyer's units per the gate. */
  gate!: number;
  /** The buyer's units per the orders of record. */
  expected!: number;
}

export class DriftDto {
  /** gate − expected; null without a gate. */
  remaining!: number | null;
  buyers!: BuyerDriftDto[];
}

export class ReconcileReportDto implements ReconcileReport {
  saleId!: string;
  stock!: number;
  /** The gate as found (null remaining: no gate, e.g. after Redis lost its data). */
  gate!: GateFoundDto;
  /** Remaining per the orders of record. */
  expected!: ExpectedDto;
  drift!: DriftDto;
  inSync!: boolean;
  /** The gate was rewritten from Postgres by this call. */
  repaired!: boolean;
  /** Units persisted during the read and counted as held to stay safe (0 on an exact pass). */
  heldWhileMoving!: number;
}

export class RoomReportDto implements RoomReport {
  saleId!: string;
  settings!: WaitingRoomViewDto;
  @ApiProperty({ enum: ['upcoming', 'open', 'paused', 'sold_out', 'ended'] })
  state!: RoomReport['state'];
  waiting!: number;
  shadowed!: number;
  admitted!: number;
  buying!: number;
  @ApiProperty({ type: Number, nullable: true })
  targetAdmitPerSecond!: number | null;
  measuredAdmitPerSecond!: number;
  estimatedWaitSeconds!: number;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'number' } })
  counters!: Record<string, number>;
  bots!: BotStatsDto;
}

export const RECONCILE_REPORT_EXAMPLE = {
  saleId: EXAMPLE.saleId,
  stock: 1000,
  gate: { exists: true, remaining: 412 },
  expected: { remaining: 412 },
  drift: { remaining: 0, buyers: [] },
  inSync: true,
  repaired: false,
  heldWhileMoving: 0,
};

export const ROOM_REPORT_EXAMPLE = {
  saleId: EXAMPLE.saleId,
  settings: {
    admitPerSecond: 200,
    maxActive: 5000,
    claimSeconds: 60,
    prequeueOpensAt: null,
    maxQueue: null,
    paused: false,
  },
  state: 'open',
  waiting: 52311,
  shadowed: 0,
  admitted: 812,
  buying: 3120,
  targetAdmitPerSecond: 200,
  measuredAdmitPerSecond: 199.2,
  estimatedWaitSeconds: 263,
  counters: { joined: 61210, admitted: 8899, used: 7611, lapsed: 402, left: 88, gone: 35, ended: 4491 },
  bots: {
    shadowed: { address: 188, device: 12 },
    refused: {},
    logged: { shadow: {}, refuse: {} },
    verification: { proofs: 61420, cpuMicros: 251822 },
  },
};
