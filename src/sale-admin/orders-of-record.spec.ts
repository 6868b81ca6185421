import { describe, expect, it } from '@jest/globals';
import { StockOfRecord } from '../inventory/stock-of-record.js';
import { OrderQueries, type OrderOfSale } from '../orders/order-queries.js';
import { newTestService } from '../testing/new-test-service.js';
import { OrdersOfRecordReader } from './orders-of-record.js';

const SALE = '1d2c3b4a-5e6f-4a7b-8c9d-0e1f2a3b4c5d';
const order = (id: string, status: OrderOfSale['status'], deadline: Date | null = null): OrderOfSale => ({
  id,
  userId: `user-${id}`,
  quantity: 1,
  status,
  paymentDeadline: deadline,
});

describe('OrdersOfRecordReader: what the gate must hold, from the orders and their reservations', () => {
  it('a cancelled or failed order is dead once its stock came back; until then it holds its units', async () => {
    const t = newTestService(OrdersOfRecordReader);
    const deadline = new Date('2030-01-01T00:00:00Z');
    t.mock(OrderQueries).ofSale.mockResolvedValue([
      order('PEND', 'PENDING'),
      order('WAIT', 'AWAITING_PAYMENT', deadline),
      order('PAID', 'PAID'),
      order('HELD', 'CANCELLED'),
      order('BACK', 'CANCELLED'),
      order('FAIL', 'FAILED'),
    ]);
    const stock = t.mock(StockOfRecord);
    stock.stillReserved.mockResolvedValue(new Set(['HELD']));
    const read = await t.sut.read(SALE);
    expect(read.live.map((o) => o.orderId)).toEqual(['PEND', 'WAIT', 'PAID', 'HELD']);
    expect(read.dead).toEqual(['BACK', 'FAIL']);
    expect(read.awaiting).toEqual([{ orderId: 'WAIT', paymentDeadline: deadline }]);
    // Only the ended orders are asked about.
    expect(stock.stillReserved).toHaveBeenCalledWith(['HELD', 'BACK', 'FAIL']);
  });
});
