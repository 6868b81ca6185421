import { Inject, Injectable } from '@nestjs/common';
import type { OrderStatus } from '../generated/prisma/client.js';
import { GateReadModel } from '../gate/gate-read-model.js';
import { DomainError } from '../infra/errors/domain-error.js';
import { QueueName } from '../infra/queues/queues.js';
import { QueueService } from '../infra/queues/queues.module.js';
import { SaleLookup } from '../sales/sale-lookup.js';
import { OrdersRepository } from './orders.repository.js';

const REFUSALS = ['SOLD_OUT', 'LIMIT_EXCEEDED', 'SALE_NOT_ACTIVE', 'BUSY', 'RATE_LIMITED'] as const;
const STATUSES: OrderStatus[] = ['QUEUED', 'PENDING', 'AWAITING_PAYMENT', 'PAID', 'CANCELLED', 'FAILED'];

export interface SaleStats {
  saleId: string;
  stock: number;
  /** Units the gate can still admit (null before preheat). */
  remaining: number | null;
  /** Purchases admitted by the gate. */
  admitted: number;
  refusals: Record<(typeof REFUSALS)[number], number>;
  /** QUEUED counts admitted tickets not yet persisted. */
  ordersByStatus: Record<OrderStatus, number>;
  /** Tickets waiting to become orders, and jobs waiting in the orders queue. */
  backlog: { tickets: number; queuedJobs: number };
  stockOfRecord: number;
}

@Injectable()
export class SaleStatsService {
  constructor(
    @Inject(SaleLookup) private readonly sales: SaleLookup,
    @Inject(OrdersRepository) private readonly orders: OrdersRepository,
    @Inject(GateReadModel) private readonly gate: GateReadModel,
    @Inject(QueueService) private readonly queues: QueueService,
  ) {}

  async stats(saleId: string): Promise<SaleStats> {
    const sale = await this.sales.findFresh(saleId);
    if (!sale) throw new DomainError('SALE_NOT_FOUND', 'No such sale');
    const [gate, byStatus, queuedJobs] = await Promise.all([
      this.gate.stats(saleId),
      this.orders.countByStatus(saleId),
      this.queues.queue(QueueName.Orders).getWaitingCount(),
    ]);
    const ordersByStatus = Object.fromEntries(STATUSES.map((s) => [s, byStatus[s] ?? 0])) as Record<
      OrderStatus,
      number
    >;
    ordersByStatus.QUEUED = gate.pending;
    return {
      saleId,
      stock: sale.stock,
      remaining: gate.remaining,
      admitted: gate.counters.admitted ?? 0,
      refusals: Object.fromEntries(REFUSALS.map((code) => [code, gate.counters[code] ?? 0])) as SaleStats['refusals'],
      ordersByStatus,
      backlog: { tickets: gate.pending, queuedJobs },
      stockOfRecord: sale.available,
    };
  }
}
