import { Inject, Injectable } from '@nestjs/common';
import type { Prisma, Sale } from '../generated/prisma/client.js';
import type { Tx } from '../infra/prisma/prisma.service.js';
import { StockOfRecord } from '../inventory/stock-of-record.js';
import { SalesRepository, type NewSale } from './sales.repository.js';

/** A sale row with its stock of record (units not yet reserved by an order). */
export type SaleWithStock = Sale & { available: number };
export type { NewSale };

/**
 * The sale catalog as other modules use it: the rows of `sales` (the admin's
 * writes inside a transaction that holds the sale's row lock, the lists of
 * the storefront, the reconcile pass and the live view), each with its stock
 * of record, which it asks the inventory module for.
 */
@Injectable()
export class SaleCatalog {
  constructor(
    @Inject(SalesRepository) private readonly sales: SalesRepository,
    @Inject(StockOfRecord) private readonly stock: StockOfRecord,
  ) {}

  /** Runs work in a transaction holding the sale's row lock (admin changes, preheat and repairs serialize); null: no such sale. */
  withLockedSale<T>(id: string, work: (sale: SaleWithStock, tx: Tx) => Promise<T>): Promise<T | null> {
    return this.sales.withLockedSale(id, async (sale, tx) => work((await this.withStock([sale], tx))[0]!, tx));
  }

  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.sales.transaction(work);
  }

  /** The sale's row (its stock of record is opened apart: StockOfRecord.open). */
  create(tx: Tx, data: NewSale): Promise<Sale> {
    return this.sales.create(tx, data);
  }

  /**
   * Updates the row `current` (read under its lock). Its updatedAt only moves
   * forward, even across API copies whose clocks differ: a waiting room's
   * settings in Redis follow the newest version (see RoomSale.version).
   */
  update(tx: Tx, current: Pick<Sale, 'id' | 'updatedAt'>, data: Prisma.SaleUpdateInput): Promise<Sale> {
    const updatedAt = new Date(Math.max(Date.now(), current.updatedAt.getTime() + 1));
    return this.sales.update(tx, current.id, { ...data, updatedAt });
  }

  delete(tx: Tx, id: string): Promise<void> {
    return this.sales.delete(tx, id);
  }

  async find(id: string): Promise<SaleWithStock | null> {
    const sale = await this.sales.find(id);
    return sale ? (await this.withStock([sale]))[0]! : null;
  }

  async page(page: number, pageSize: number): Promise<{ items: SaleWithStock[]; total: number }> {
    const { items, total } = await this.sales.page(page, pageSize);
    return { items: await this.withStock(items), total };
  }

  /** Sales a shopper can still buy or wait for, soonest first. */
  async openSales(now: Date, limit?: number): Promise<SaleWithStock[]> {
    return this.withStock(await this.sales.openSales(now, limit));
  }

  /** Ids of sales that stopped selling between `since` and `now` (their orders may still be open). */
  endedBetween(since: Date, now: Date, limit?: number): Promise<string[]> {
    return this.sales.endedBetween(since, now, limit);
  }

  /** Sales open now, starting within `aheadMs`, or ended within `afterMs`; soonest first. */
  watched(aheadMs: number, afterMs: number): Promise<Sale[]> {
    return this.sales.watched(aheadMs, afterMs);
  }

  /** Sales with a waiting room that open within `aheadMs` or ended within `afterMs` (for the admitter). */
  rooms(aheadMs: number, afterMs: number): Promise<Sale[]> {
    return this.sales.rooms(aheadMs, afterMs);
  }

  private async withStock(sales: Sale[], tx?: Tx): Promise<SaleWithStock[]> {
    const available = await this.stock.available(
      sales.map((s) => s.id),
      tx,
    );
    return sales.map((s) => ({ ...s, available: available.get(s.id) ?? 0 }));
  }
}
