import { Inject, Injectable } from '@nestjs/common';
import type { OrdersOfRecord } from '../gate/gate-rebuild.js';
import { StockOfRecord } from '../inventory/stock-of-record.js';
import { OrderQueries } from '../orders/order-queries.js';

/**
 * What the gate of a sale must hold, from Postgres: its live orders and the
 * ids of the dead ones, read through the orders and inventory modules. The
 * orders are read first: a cancelled order counts as dead only once its
 * reservation, read after it, is no longer RESERVED (its stock came back), so
 * an order cancelled between the two reads still holds its units here (at
 * worst a few units stay held until the next pass, never given twice).
 */
@Injectable()
export class OrdersOfRecordReader {
  constructor(
    @Inject(OrderQueries) private readonly orders: OrderQueries,
    @Inject(StockOfRecord) private readonly stock: StockOfRecord,
  ) {}

  async read(saleId: string): Promise<OrdersOfRecord> {
    const orders = await this.orders.ofSale(saleId);
    const ended = orders.filter((o) => o.status === 'CANCELLED' || o.status === 'FAILED');
    const reserved = await this.stock.stillReserved(ended.map((o) => o.id));
    const result: OrdersOfRecord = { live: [], dead: [], awaiting: [] };
    for (const o of orders) {
      // A cancelled order whose stock inventory has not taken back yet still
      // holds its units: it is given back to the gate after that return.
      if ((o.status === 'CANCELLED' || o.status === 'FAILED') && !reserved.has(o.id)) result.dead.push(o.id);
      else result.live.push({ orderId: o.id, userId: o.userId, quantity: o.quantity });
      if (o.status === 'AWAITING_PAYMENT' && o.paymentDeadline) {
        result.awaiting.push({ orderId: o.id, paymentDeadline: o.paymentDeadline });
      }
    }
    return result;
  }
}
