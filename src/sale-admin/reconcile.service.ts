import { Inject, Injectable, Logger } from '@nestjs/common';
import { GateRebuild, type RebuildAnswer, type RebuildMode } from '../gate/gate-rebuild.js';
import { SalesConfig } from '../infra/config/app-config.js';
import { DomainError } from '../infra/errors/domain-error.js';
import { OrderRecovery } from '../orders/order-recovery.service.js';
import { expireOrderJob } from '../orders/payment-deadlines.js';
import { QueueService } from '../infra/queues/queues.module.js';
import { gateSettings } from '../sales/gate-settings.js';
import { SaleCatalog, type SaleWithStock } from '../sales/sale-catalog.js';
import { OrdersOfRecordReader } from './orders-of-record.js';

/** Exact attempts (the `persisted` counter must not move during one) before the safe one. */
const EXACT_ATTEMPTS = 5;

export interface ReconcileReport {
  saleId: string;
  stock: number;
  /** The gate as found (null remaining: no gate, e.g. after Redis lost its data). */
  gate: { exists: boolean; remaining: number | null };
  /** Remaining per the orders of record: stock − orders not CANCELLED/FAILED − tickets still pending. */
  expected: { remaining: number };
  /** gate − expected (null without a gate), and the buyers whose counts differ. */
  drift: { remaining: number | null; buyers: { userId: string; gate: number; expected: number }[] };
  inSync: boolean;
  /** The gate was rewritten from Postgres by this call. */
  repaired: boolean;
  /**
   * Units persisted during the read and counted as held to stay safe (0 on an
   * exact pass). Above 0 the expected figures may be low by that much: a busy
   * sale; ask again.
   */
  heldWhileMoving: number;
}

/**
 * Postgres is the truth: compares a sale's gate (remaining, buyers' counts)
 * with its orders of record and, when asked, rewrites the gate from them in
 * one Lua call while the sale keeps selling. Also builds a missing gate
 * (preheat, or after Redis lost its data) from the orders rather than from
 * inventory.available, which ignores orders not reserved yet.
 */
@Injectable()
export class ReconcileService {
  private readonly logger = new Logger('Reconcile');

  constructor(
    @Inject(SaleCatalog) private readonly sales: SaleCatalog,
    @Inject(OrdersOfRecordReader) private readonly ordersOfRecord: OrdersOfRecordReader,
    @Inject(GateRebuild) private readonly gate: GateRebuild,
    @Inject(QueueService) private readonly queues: QueueService,
    @Inject(OrderRecovery) private readonly recovery: OrderRecovery,
    @Inject(SalesConfig) private readonly config: SalesConfig,
  ) {}

  /**
   * Reads the orders of record after noting the gate's `persisted` counter and
   * runs the rebuild script; retries while orders are being persisted, and
   * makes the last attempt in safe mode (never frees units it cannot place).
   * A gate that was missing means Redis lost its data, BullMQ's delayed jobs
   * included: the payment-deadline jobs of the sale's unpaid orders are put
   * back (same job ids, so one that still exists is left as it is).
   */
  async run(
    sale: SaleWithStock,
    mode: RebuildMode,
    { guard = false }: { guard?: boolean } = {},
  ): Promise<RebuildAnswer> {
    for (let attempt = 1; ; attempt++) {
      const mark = await this.gate.persistedMark(sale.id, sale.gateBuckets);
      const orders = await this.ordersOfRecord.read(sale.id);
      const answer = await this.gate.rebuild(sale.id, {
        mode,
        settings: gateSettings(sale),
        orders,
        mark,
        safe: attempt >= EXACT_ATTEMPTS,
        guard,
      });
      if (answer.status === 'MOVED') continue;
      if (mode !== 'check' && answer.status === 'DONE' && answer.current === null && orders.awaiting.length > 0) {
        const now = Date.now();
        await this.queues.enqueueBulk(
          orders.awaiting.map((o) => expireOrderJob(o.orderId, { delay: o.paymentDeadline.getTime() - now })),
        );
      }
      return answer;
    }
  }

  /**
   * A stock change of a preheated sale split into buckets: the gate is
   * rebuilt from the orders of record with the new stock (a decrease below
   * the units held is refused: SHORT, nothing written). A sale of one bucket
   * moves its stock by compare-and-set instead (GateRebuild.adjustStock).
   */
  async restock(sale: SaleWithStock, stock: number): Promise<RebuildAnswer> {
    return this.run({ ...sale, stock }, 'repair', { guard: true });
  }

  /** POST /admin/sales/:id/reconcile: the drift report; with repair, the gate rewritten from Postgres. */
  async reconcile(id: string, { repair }: { repair: boolean }): Promise<ReconcileReport> {
    const report = await this.sales.withLockedSale(id, async (sale) => this.reconcileSale(sale, { repair }));
    if (report === null) throw notFound();
    return report;
  }

  /**
   * The periodic pass over the open sales (from Postgres, not from Redis,
   * which may have lost everything): a missing gate of a sale within its
   * preheat lead is rebuilt; drift is logged, and repaired with RECONCILE_REPAIR.
   * Orders stuck in a non-final state are healed (OrderRecovery), also those
   * of sales that ended within the last day.
   */
  async reconcileOpenSales({ repair = this.config.RECONCILE_REPAIR }: { repair?: boolean } = {}): Promise<
    ReconcileReport[]
  > {
    const now = Date.now();
    const reports: ReconcileReport[] = [];
    const open = await this.sales.openSales(new Date(now), 1000);
    const ended = await this.sales.endedBetween(new Date(now - 86_400_000), new Date(now), 1000);
    for (const saleId of [...open.map((s) => s.id), ...ended]) await this.recovery.heal(saleId);
    for (const sale of open) {
      if (sale.startsAt.getTime() - this.config.PREHEAT_LEAD_SECONDS * 1000 > now) continue;
      const report = await this.sales.withLockedSale(sale.id, async (locked) => {
        const check = await this.reconcileSale(locked, { repair: false });
        // An inexact check (orders being persisted all along) is no evidence of drift.
        const drifted = !check.inSync && check.heldWhileMoving === 0;
        if (!check.gate.exists || (drifted && repair)) {
          return this.reconcileSale(locked, { repair: true });
        }
        return check;
      });
      if (!report) continue;
      if (!report.gate.exists) this.logger.warn(`sale ${report.saleId}: gate was missing, rebuilt from Postgres`);
      else if (!report.inSync && report.heldWhileMoving === 0) {
        this.logger.warn(
          `sale ${report.saleId}: gate drift remaining ${report.drift.remaining}, ${report.drift.buyers.length} buyer(s)` +
            (report.repaired ? ' (repaired)' : ' (not repaired: RECONCILE_REPAIR=false)'),
        );
      }
      reports.push(report);
    }
    return reports;
  }

  private async reconcileSale(sale: SaleWithStock, { repair }: { repair: boolean }): Promise<ReconcileReport> {
    const answer = await this.run(sale, repair ? 'repair' : 'check');
    const drift = answer.current === null ? null : answer.current - answer.expected;
    const inSync = drift === 0 && answer.buyers.length === 0;
    if (repair && !inSync) {
      this.logger.log(
        `sale ${sale.id}: gate rewritten from Postgres (remaining ${answer.current} → ${answer.expected})`,
      );
    }
    return {
      saleId: sale.id,
      stock: sale.stock,
      gate: { exists: answer.current !== null, remaining: answer.current },
      expected: { remaining: answer.expected },
      drift: { remaining: drift, buyers: answer.buyers },
      inSync,
      repaired: repair,
      heldWhileMoving: answer.moved,
    };
  }
}

function notFound(): DomainError {
  return new DomainError('SALE_NOT_FOUND', 'No such sale');
}
