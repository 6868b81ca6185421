/**
 * The API's answers as classes, for the OpenAPI document only: the services
 * return interfaces, which carry no runtime type. Each class `implements`
 * its interface, so a field added there and not here fails the type check.
 * The @nestjs/swagger plugin turns the types and comments into schemas.
 */
import type { PublicUser } from '../../auth/auth.service.js';
import type { Admitted } from '../../purchase/admission.service.js';
import type { ErrorDetail } from '../../infra/errors/domain-error.js';
import type { ErrorBody } from '../../infra/http/all-exceptions.filter.js';
import type { NotificationPage } from '../../notifications/admin-notifications.service.js';
import type { NotificationView } from '../../notifications/notification.types.js';
import type { OrderView } from '../../orders/orders.service.js';
import type { SaleStats } from '../../orders/sale-stats.service.js';
import { ApiProperty } from '@nestjs/swagger';
import type { SaleView, StorefrontRoom, StorefrontSale } from '../../sales/sale-view.js';
import type { WaitingRoom } from '../../sales/waiting-room.js';
import type { AccountCap, AntiBotMode, AntiBotSettings, SignalEffect } from '../../sales/anti-bot-settings.js';
import type { BotStats } from '../../bots/bots.service.js';
import type { BotCounts } from '../../bots/bots.store.js';
import type { QueueView } from '../../room/room.service.js';
import type { QueueState } from '../../room/room-terms.js';
import type { RoomReport } from '../../sale-admin/room-admin.service.js';
import type { ReconcileReport } from '../../sale-admin/reconcile.service.js';
import type { AdminSession } from '../admin/admin-access.js';
import type { HealthBody } from '../health.controller.js';

type OrderStatus = OrderView['status'];
type SaleStatus = SaleView['status'];

export class ErrorDetailDto implements ErrorDetail {
  /** The field (or header) that is wrong. */
  field!: string;
  /** What is wrong with it. */
  problem!: string;
}

/** Every refusal and error: a stable `code` to switch on, never a stack trace. */
export class ErrorBodyDto implements ErrorBody {
  /** The HTTP status, repeated. */
  statusCode!: number;
  /** Stable error code (see the list per operation). */
  code!: string;
  /** A message for people; may change. */
  message!: string;
  /** One entry per invalid field (VALIDATION_FAILED only). */
  details?: ErrorDetailDto[];
  /** OUTCOME_UNKNOWN only: the order the purchase may have become; look it up at /orders/{orderId}. */
  orderId?: string;
}

export class PublicUserDto implements PublicUser {
  id!: string;
  email!: string;
  /** E.164. */
  phone!: string;
  name!: string | null;
  role!: 'CUSTOMER' | 'ADMIN';
  createdAt!: Date;
}

export class LoginAnswerDto {
  /** A JWT: send it as `Authorization: Bearer <token>`. */
  accessToken!: string;
  tokenType!: 'Bearer';
  /** The token's lifetime, as configured (JWT_EXPIRES_IN). */
  expiresIn!: string;
}

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

export class WaitingRoomViewDto implements WaitingRoom {
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
  /** The anti-bot rules; absent when the room has none (mode off). */
  @ApiProperty({ type: AntiBotViewDto, required: false })
  antiBot?: AntiBotViewDto;
}

/** A room as the storefront shows it: its anti-bot mode, not its rules. */
export class StorefrontRoomViewDto implements StorefrontRoom {
  @ApiProperty({ oneOf: [{ type: 'number' }, { type: 'string', enum: ['auto'] }], example: 200 })
  admitPerSecond!: number | 'auto';
  maxActive!: number;
  claimSeconds!: number;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' })
  prequeueOpensAt!: string | null;
  @ApiProperty({ type: Number, nullable: true })
  maxQueue!: number | null;
  paused!: boolean;
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

export class SalePageDto {
  items!: SaleViewDto[];
  page!: number;
  pageSize!: number;
  total!: number;
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

export class AdmittedDto implements Admitted {
  /** The order's id (a ULID): follow it on GET /orders/{id} or /orders/{id}/events. */
  orderId!: string;
  status!: 'QUEUED';
}

export class OrderViewDto implements OrderView {
  /** ULID made at admission. */
  id!: string;
  saleId!: string;
  userId!: string;
  quantity!: number;
  /** Minor units; null while QUEUED (fixed when the order is persisted). */
  amount!: number | null;
  status!: OrderStatus;
  /** Why the order FAILED or was CANCELLED. */
  failureReason!: string | null;
  /** Pay before this (AWAITING_PAYMENT), or the order is cancelled. */
  paymentDeadline!: Date | null;
  admittedAt!: Date;
  updatedAt!: Date;
}

export class OrderPageDto {
  /** Newest first. */
  items!: OrderViewDto[];
  page!: number;
  pageSize!: number;
  total!: number;
}

export class RefusalCountsDto implements Record<keyof SaleStats['refusals'], number> {
  SOLD_OUT!: number;
  LIMIT_EXCEEDED!: number;
  SALE_NOT_ACTIVE!: number;
  BUSY!: number;
  RATE_LIMITED!: number;
}

export class OrdersByStatusDto implements Record<OrderStatus, number> {
  /** Admitted tickets not yet persisted. */
  QUEUED!: number;
  PENDING!: number;
  AWAITING_PAYMENT!: number;
  PAID!: number;
  CANCELLED!: number;
  FAILED!: number;
}

export class BacklogDto implements Readonly<SaleStats['backlog']> {
  /** Admitted tickets waiting to become orders. */
  tickets!: number;
  /** Jobs waiting in the orders queue. */
  queuedJobs!: number;
}

export class SaleStatsDto implements SaleStats {
  saleId!: string;
  stock!: number;
  /** Units the gate can still admit (null before preheat). */
  remaining!: number | null;
  /** Purchases admitted by the gate. */
  admitted!: number;
  refusals!: RefusalCountsDto;
  /** QUEUED counts admitted tickets not yet persisted. */
  ordersByStatus!: OrdersByStatusDto;
  backlog!: BacklogDto;
  /** Units not yet reserved by an order, per Postgres. */
  stockOfRecord!: number;
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

export class NotificationViewDto implements NotificationView {
  id!: string;
  orderId!: string;
  /** The event the message is about, e.g. `order.confirmed`. */
  kind!: string;
  channel!: NotificationView['channel'];
  /** Email address or E.164 phone number. */
  recipient!: string;
  status!: NotificationView['status'];
  /** Transport calls started for this message. */
  attempts!: number;
  lastError!: string | null;
  eventId!: string;
  sentAt!: Date | null;
  createdAt!: Date;
  updatedAt!: Date;
}

export class NotificationPageDto implements NotificationPage {
  items!: NotificationViewDto[];
  page!: number;
  pageSize!: number;
  total!: number;
}

export class HealthDto implements HealthBody {
  status!: 'ok' | 'error';
  postgres!: 'up' | 'down';
  redis!: 'up' | 'down';
}

export class LivenessDto {
  status!: 'ok';
}

export class AdminSessionDto implements AdminSession {
  status!: 'signed-in';
  /** When the session (the token) expires. */
  expiresAt!: Date;
}

export class WaitRangeDto {
  low!: number;
  high!: number;
}

export class AdmissionDto {
  /** Send it as the header Admission-Token of the purchase; it buys once. */
  token!: string;
  expiresAt!: Date;
}

export class QueueViewDto implements QueueView {
  /** prequeue, waiting, admitted, used (bought with the admission), sold_out (place kept for returned units), closed, full, not_open, left */
  @ApiProperty({
    enum: ['prequeue', 'waiting', 'admitted', 'used', 'sold_out', 'closed', 'full', 'not_open', 'left'],
  })
  state!: QueueState;
  /** 1 = next in line; null in the pre-queue (the order is drawn at the start) and when not waiting. */
  @ApiProperty({ type: Number, nullable: true })
  position!: number | null;
  /** Seconds until admission, as a range (0, 0 when not waiting). */
  estimatedWaitSeconds!: WaitRangeDto;
  /** Poll again after this long, not before. */
  refreshAfterSeconds!: number;
  /** Shoppers waiting in the room. */
  queueLength!: number;
  /** Admissions per second the estimate is based on. */
  admitPerSecond!: number;
  /** When the sale starts selling. */
  startsAt!: Date;
  /** Once admitted: the token to buy with and until when it holds; else null. */
  @ApiProperty({ type: AdmissionDto, nullable: true })
  admission!: AdmissionDto | null;
  /** Send it back as header Queue-Token on the next poll; null when not waiting. */
  @ApiProperty({ type: String, nullable: true })
  queueToken!: string | null;
}

const BY_REASON = {
  type: 'object',
  additionalProperties: { type: 'number' },
  description: 'identities by reason: address, network, device, burst, age',
} as const;

export class LoggedVerdictsDto {
  @ApiProperty(BY_REASON)
  shadow!: Record<string, number>;
  @ApiProperty(BY_REASON)
  refuse!: Record<string, number>;
}

export class ProofChecksDto {
  /** Proofs this API process checked since it started. */
  proofs!: number;
  /** CPU they took, µs. */
  cpuMicros!: number;
}

/** The anti-bot screen of a room. */
export class BotStatsDto implements BotStats, BotCounts {
  /** Identities in the shadow queue (mode enforce). */
  @ApiProperty(BY_REASON)
  shadowed!: Record<string, number>;
  /** Identities refused with JOIN_REFUSED (mode enforce). */
  @ApiProperty(BY_REASON)
  refused!: Record<string, number>;
  /** What mode log would have done. */
  logged!: LoggedVerdictsDto;
  verification!: ProofChecksDto;
}

/** A proof-of-work challenge to solve before joining (or `required: false`). */
export class ChallengeViewDto {
  /** false: the room asks for none (join without Join-Proof); the other fields are then absent. */
  required!: boolean;
  /** Send `<challenge>:<n>` as the Join-Proof header of the join. */
  challenge?: string;
  @ApiProperty({ enum: ['SHA-256'], required: false })
  algorithm?: 'SHA-256';
  salt?: string;
  /** Hex SHA-256 of salt + n (n in decimal). */
  hash?: string;
  /** n is in [0, maxNumber]. */
  maxNumber?: number;
  /** 0 base, 1 ×10, 2 ×100. */
  tier?: number;
  expiresAt?: Date;
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
