/** The answers of the order routes, as classes for the OpenAPI document (the services return interfaces). */
import { EXAMPLE } from '../infra/openapi/examples.js';
import type { OrderView } from './orders.service.js';
import type { SaleStats } from './sale-stats.service.js';

type OrderStatus = OrderView['status'];

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

export const ORDER_VIEW_EXAMPLE = {
  id: EXAMPLE.orderId,
  saleId: EXAMPLE.saleId,
  userId: EXAMPLE.userId,
  quantity: 1,
  amount: 49900,
  status: 'AWAITING_PAYMENT',
  failureReason: null,
  paymentDeadline: '2026-11-21T12:15:02.000Z',
  admittedAt: '2026-11-21T12:00:01.250Z',
  updatedAt: '2026-11-21T12:00:02.000Z',
};

export const SALE_STATS_EXAMPLE = {
  saleId: EXAMPLE.saleId,
  stock: 1000,
  remaining: 412,
  admitted: 588,
  refusals: { SOLD_OUT: 0, LIMIT_EXCEEDED: 31, SALE_NOT_ACTIVE: 120, BUSY: 0, RATE_LIMITED: 4 },
  ordersByStatus: { QUEUED: 12, PENDING: 6, AWAITING_PAYMENT: 420, PAID: 140, CANCELLED: 10, FAILED: 0 },
  backlog: { tickets: 12, queuedJobs: 12 },
  stockOfRecord: 424,
};
