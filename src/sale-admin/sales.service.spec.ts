import { beforeEach, describe, expect, it } from '@jest/globals';
import { GateReadModel } from '../gate/gate-read-model.js';
import { GateRebuild } from '../gate/gate-rebuild.js';
import { DomainError } from '../infra/errors/domain-error.js';
import type { Tx } from '../infra/prisma/prisma.service.js';
import { QueueService } from '../infra/queues/queues.module.js';
import { StockOfRecord } from '../inventory/stock-of-record.js';
import { newTestService, type Mocked } from '../testing/new-test-service.js';
import { saleRow } from '../testing/sales.js';
import { SalesService } from './sales.service.js';
import { ReconcileService } from './reconcile.service.js';
import { SaleCatalog, type SaleWithStock } from '../sales/sale-catalog.js';
import { OrderQueries } from '../orders/order-queries.js';

const ID = '0b7c5a52-7d0e-4c55-9a51-6f1d1c1e7a10';
const tx = { tx: true } as unknown as Tx;

const sale = (overrides: Partial<SaleWithStock> = {}): SaleWithStock => saleRow({ id: ID, ...overrides });

/**
 * Admin changes of a sale touch two stores: Postgres (in a transaction that
 * holds the sale's row lock) and the gate in Redis (no shared transaction),
 * so the service orders the two by hand and compensates the gate when
 * Postgres refuses. These specs pin that order and the compensation.
 */
describe('SalesService.update/remove: the gate and Postgres kept in step by hand', () => {
  let service: SalesService;
  let sales: Mocked<SaleCatalog>;
  let orders: Mocked<OrderQueries>;
  let stock: Mocked<StockOfRecord>;
  let gate: Mocked<GateRebuild>;
  let gateReads: Mocked<GateReadModel>;
  let queues: Mocked<QueueService>;
  let reconcile: Mocked<ReconcileService>;
  let current: SaleWithStock;
  /** The order in which the two stores were touched; 'commit' marks the end of the transaction. */
  let log: string[];

  beforeEach(() => {
    const t = newTestService(SalesService);
    service = t.sut;
    sales = t.mock(SaleCatalog);
    orders = t.mock(OrderQueries);
    stock = t.mock(StockOfRecord);
    gate = t.mock(GateRebuild);
    gateReads = t.mock(GateReadModel);
    queues = t.mock(QueueService);
    reconcile = t.mock(ReconcileService);
    current = sale();
    log = [];
    sales.withLockedSale.mockImplementation(async (_id, work) => {
      const result = await work(current, tx);
      log.push('commit');
      return result;
    });
    sales.update.mockImplementation(async (_tx, _id, data) => {
      log.push('pg:update');
      const set = Object.fromEntries(Object.entries(data).filter(([, v]) => v !== undefined));
      return { ...current, ...set };
    });
    stock.adjust.mockImplementation(async (_tx, _id, delta) => {
      log.push(`pg:adjust ${delta}`);
      return true;
    });
    gate.adjustStock.mockImplementation(async (_id, from, to) => {
      log.push(`gate:${from}->${to}`);
      return { status: 'done', remaining: to };
    });
    gate.updateSettings.mockResolvedValue(true);
    gateReads.remaining.mockResolvedValue(10);
    gateReads.pendingCount.mockResolvedValue(0);
    gate.remove.mockResolvedValue(undefined);
    queues.remove.mockResolvedValue(undefined);
    queues.enqueue.mockResolvedValue(undefined as never);
  });

  it('a decrease takes the units out of the gate first, then writes Postgres', async () => {
    const view = await service.update(ID, { stock: 7 });
    expect(log).toEqual(['gate:10->7', 'pg:adjust -3', 'pg:update', 'commit']);
    expect(sales.update.mock.calls[0]![2]).toMatchObject({ stock: 7 });
    expect(view.stock).toBe(7);
  });

  it('a decrease Postgres refuses (units sold meanwhile) is STOCK_BELOW_SOLD and the gate gets its units back', async () => {
    stock.adjust.mockImplementation(async (_tx, _id, delta) => {
      log.push(`pg:adjust ${delta}`);
      return false;
    });
    current = sale({ available: 2 });
    await expect(service.update(ID, { stock: 7 })).rejects.toMatchObject({ code: 'STOCK_BELOW_SOLD' });
    expect(log).toEqual(['gate:10->7', 'pg:adjust -3', 'gate:7->10']);
    expect(sales.update).not.toHaveBeenCalled();
  });

  it('any failure after the gate took the units gives them back and rethrows', async () => {
    sales.update.mockRejectedValue(new Error('connection lost'));
    await expect(service.update(ID, { stock: 4, name: 'x' })).rejects.toThrow('connection lost');
    expect(log).toEqual(['gate:10->4', 'pg:adjust -6', 'gate:4->10']);
  });

  it('a decrease the gate refuses writes nothing; a gate moving under it is CONFLICT', async () => {
    gate.adjustStock.mockResolvedValueOnce({ status: 'refused', remaining: 1 });
    await expect(service.update(ID, { stock: 5 })).rejects.toMatchObject({ code: 'STOCK_BELOW_SOLD' });
    gate.adjustStock.mockResolvedValueOnce({ status: 'conflict' } as never);
    await expect(service.update(ID, { stock: 5 })).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(stock.adjust).not.toHaveBeenCalled();
    expect(sales.update).not.toHaveBeenCalled();
  });

  it('an increase reaches the gate only after Postgres committed it', async () => {
    await service.update(ID, { stock: 15 });
    expect(log).toEqual(['pg:adjust 5', 'pg:update', 'commit', 'gate:10->15']);
  });

  it('an increase whose gate moved meanwhile is repaired from the orders of record', async () => {
    gate.adjustStock.mockResolvedValue({ status: 'conflict' } as never);
    reconcile.reconcile.mockResolvedValue({} as never);
    await service.update(ID, { stock: 15 });
    expect(reconcile.reconcile).toHaveBeenCalledWith(ID, { repair: true });
  });

  it('nothing changes after the sale ended', async () => {
    current = sale({ endsAt: new Date(Date.now() - 1000), startsAt: new Date(Date.now() - 60_000) });
    await expect(service.update(ID, { stock: 15 })).rejects.toBeInstanceOf(DomainError);
    expect(log).toEqual([]);
  });

  it('remove: a sale with orders is refused and its gate reopened as it was', async () => {
    orders.countOfSale.mockResolvedValue(3);
    await expect(service.remove(ID)).rejects.toMatchObject({ code: 'SALE_HAS_ORDERS' });
    expect(gate.updateSettings.mock.calls.map((c) => c[1].paused)).toEqual([true, false]);
    expect(sales.delete).not.toHaveBeenCalled();
    expect(gate.remove).not.toHaveBeenCalled();
  });

  it('remove: tickets in flight (admitted, not yet orders) also keep the sale', async () => {
    orders.countOfSale.mockResolvedValue(0);
    gateReads.pendingCount.mockResolvedValue(1);
    await expect(service.remove(ID)).rejects.toMatchObject({ code: 'SALE_HAS_ORDERS' });
    expect(sales.delete).not.toHaveBeenCalled();
  });

  it('remove: a sale nobody bought goes from Postgres, the gate and the preheat queue', async () => {
    orders.countOfSale.mockResolvedValue(0);
    sales.delete.mockResolvedValue(undefined);
    await service.remove(ID);
    expect(sales.delete).toHaveBeenCalledWith(tx, ID);
    expect(gate.remove).toHaveBeenCalledWith(ID);
    expect(queues.remove).toHaveBeenCalledWith('sale.preheat', `preheat-${ID}-${current.startsAt.getTime()}`);
  });
});
