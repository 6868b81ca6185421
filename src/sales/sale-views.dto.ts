/**
 * A sale as admins and the storefront see it, as classes for the OpenAPI
 * document (the services return interfaces). Each class `implements` its
 * interface, so a field added there and not here fails the type check.
 */
import { ApiProperty } from '@nestjs/swagger';
import { EXAMPLE } from '../infra/openapi/examples.js';
import type { AccountCap, AntiBotMode, AntiBotSettings, SignalEffect } from './anti-bot-settings.js';
import type { SaleView, StorefrontRoom, StorefrontSale } from './sale-view.js';
import type { WaitingRoom } from './waiting-room.js';

type SaleStatus = SaleView['status'];

const EFFECTS = ['shadow', 'refuse', 'harder', 'none'];

export class AccountCapViewDto implements AccountCap {
  /** Accounts that pass; 0 = no cap. */
  limit!: number;
  @ApiProperty({ enum: EFFECTS })
  effect!: SignalEffect;
}

export class AccountAgeViewDto {
  /** Accounts younger than this get the effect; 0 = off. */
  minSeconds!: number;
  @ApiProperty({ enum: EFFECTS })
  effect!: SignalEffect;
}

export class BurstViewDto {
  /** New accounts from one address per window beyond which the effect applies; 0 = off. */
  limit!: number;
  windowSeconds!: number;
  @ApiProperty({ enum: EFFECTS })
  effect!: SignalEffect;
}

/** The anti-bot rules of a room (docs/security.md, Bots and scalpers). */
export class AntiBotViewDto implements AntiBotSettings {
  @ApiProperty({ enum: ['off', 'log', 'enforce'] })
  mode!: AntiBotMode;
  /** Work of a base-tier challenge; null: BOTS_BASE_DIFFICULTY. */
  @ApiProperty({ type: Number, nullable: true })
  difficulty!: number | null;
  perAddress!: AccountCapViewDto;
  perNetwork!: AccountCapViewDto;
  perDevice!: AccountCapViewDto;
  accountAge!: AccountAgeViewDto;
  burst!: BurstViewDto;
}

/** Whether a room screens for bots, as shoppers see it (not its rules). */
export class AntiBotModeViewDto {
  /** Not `off`: joining needs a solved challenge (GET /sales/{id}/queue/challenge). */
  @ApiProperty({ enum: ['off', 'log', 'enforce'] })
  mode!: AntiBotMode;
}

/** A waiting room's settings, as admins and shoppers both see them. */
export class RoomSettingsViewDto {
  /** Shoppers let in per second, or `auto` (the admitter follows what the purchase path measures). */
  @ApiProperty({ oneOf: [{ type: 'number' }, { type: 'string', enum: ['auto'] }], example: 200 })
  admitPerSecond!: number | 'auto';
  /** Most shoppers admitted and not yet done (admission unused, or order not yet paid or cancelled). */
  maxActive!: number;
  /** Seconds an admission stays valid. */
  claimSeconds!: number;
  /** When joining opens (before the start); null: ROOM_PREQUEUE_LEAD_SECONDS before it. */
  @ApiProperty({ type: String, nullable: true, format: 'date-time' })
  prequeueOpensAt!: string | null;
  /** Longest the queue may grow; null: ROOM_MAX_QUEUE. */
  @ApiProperty({ type: Number, nullable: true })
  maxQueue!: number | null;
  /** Nobody is let in while paused (joining and waiting go on). */
  paused!: boolean;
}

export class WaitingRoomViewDto extends RoomSettingsViewDto implements WaitingRoom {
  /** The anti-bot rules; absent when the room has none (mode off). */
  @ApiProperty({ type: AntiBotViewDto, required: false })
  antiBot?: AntiBotViewDto;
}

/** A room as the storefront shows it: its anti-bot mode, not its rules. */
export class StorefrontRoomViewDto extends RoomSettingsViewDto implements StorefrontRoom {
  /** Present when the room has anti-bot rules. */
  @ApiProperty({ type: AntiBotModeViewDto, required: false })
  antiBot?: AntiBotModeViewDto;
}

export class SaleViewDto implements SaleView {
  id!: string;
  name!: string;
  sku!: string;
  /** Minor units (cents) of one unit. */
  price!: number;
  stock!: number;
  perUserLimit!: number;
  startsAt!: Date;
  endsAt!: Date;
  /** Set when an admin ended the sale before endsAt. */
  endedAt!: Date | null;
  paused!: boolean;
  /** Seconds to pay once reserved; null = the PAYMENT_WINDOW_SECONDS default. */
  paymentWindowSeconds!: number | null;
  status!: SaleStatus;
  /** Units left to buy: the gate's count once preheated, else the stock of record. */
  remaining!: number;
  /** The sale's stock is loaded into the admission gate. */
  preheated!: boolean;
  /** The sale's waiting room; null: none, shoppers buy directly. */
  @ApiProperty({ type: WaitingRoomViewDto, nullable: true })
  waitingRoom!: WaitingRoomViewDto | null;
  createdAt!: Date;
  updatedAt!: Date;
}

export class StorefrontSaleDto implements StorefrontSale {
  id!: string;
  name!: string;
  /** Minor units (cents) of one unit. */
  price!: number;
  stock!: number;
  /** Units left to buy, live from the gate. */
  remaining!: number;
  perUserLimit!: number;
  startsAt!: Date;
  endsAt!: Date;
  status!: SaleStatus;
  paused!: boolean;
  /** The sale's waiting room; null: none, shoppers buy directly. */
  @ApiProperty({ type: StorefrontRoomViewDto, nullable: true })
  waitingRoom!: StorefrontRoomViewDto | null;
}

export class StorefrontSaleDetailDto extends StorefrontSaleDto {
  /** The server's clock, for the countdown. */
  serverTime!: Date;
}

export class StorefrontListDto {
  /** Upcoming and active sales. */
  items!: StorefrontSaleDto[];
  /** The server's clock, for the countdown. */
  serverTime!: Date;
}

export const SALE_VIEW_EXAMPLE = {
  id: EXAMPLE.saleId,
  name: 'Phone X launch',
  sku: 'PHONE-X-128',
  price: 49900,
  stock: 1000,
  perUserLimit: 1,
  startsAt: EXAMPLE.at,
  endsAt: EXAMPLE.later,
  endedAt: null,
  paused: false,
  paymentWindowSeconds: null,
  status: 'ACTIVE',
  remaining: 412,
  preheated: true,
  waitingRoom: null,
  createdAt: '2026-11-20T09:00:00.000Z',
  updatedAt: '2026-11-20T09:00:00.000Z',
};

export const STOREFRONT_SALE_EXAMPLE = {
  id: EXAMPLE.saleId,
  name: 'Phone X launch',
  price: 49900,
  stock: 1000,
  remaining: 412,
  perUserLimit: 1,
  startsAt: EXAMPLE.at,
  endsAt: EXAMPLE.later,
  status: 'ACTIVE',
  paused: false,
};
