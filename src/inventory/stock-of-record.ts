import { Inject, Injectable } from '@nestjs/common';
import type { Tx } from '../infra/prisma/prisma.service.js';
import { InventoryRepository } from './inventory.repository.js';

/**
 * The stock of record as other modules see it. Writes, inside the sales
 * module's transaction: open a new sale's stock, move it when the sale's
 * stock changes (every other write to inventory is the inventory module's
 * reaction to events). Reads: units available, and which orders still have
 * their units reserved (a gate rebuild tells cancelled orders still holding
 * stock from those whose stock came back).
 */
@Injectable()
export class StockOfRecord {
  constructor(@Inject(InventoryRepository) private readonly repository: InventoryRepository) {}

  open(tx: Tx, saleId: string, units: number): Promise<void> {
    return this.repository.open(tx, saleId, units);
  }

  /** Moves available by delta; false when it would go below zero (units already sold). */
  adjust(tx: Tx, saleId: string, delta: number): Promise<boolean> {
    return this.repository.adjust(tx, saleId, delta);
  }

  /** Units available per sale (0 for a sale without a stock of record). */
  async available(saleIds: string[], tx?: Tx): Promise<Map<string, number>> {
    if (saleIds.length === 0) return new Map();
    const found = await this.repository.available(saleIds, tx);
    return new Map(saleIds.map((id) => [id, found.get(id) ?? 0]));
  }

  /** Those of these orders whose units are reserved now (not returned, not voided). */
  async stillReserved(orderIds: string[]): Promise<Set<string>> {
    return orderIds.length === 0 ? new Set() : this.repository.stillReserved(orderIds);
  }
}
