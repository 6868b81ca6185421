import { Inject, Injectable } from '@nestjs/common';
import type { Tx } from '../infra/prisma/prisma.service.js';
import { InventoryRepository } from './inventory.repository.js';

/**
 * What the sales module may ask of the stock of record, inside its own
 * transaction: open a new sale's stock, move it when the sale's stock changes.
 * Every other write to inventory is the inventory module's reaction to events.
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
}
