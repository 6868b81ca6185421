import { beforeEach, describe, expect, it, jest } from '@jest/globals';
import { OutboxWriter } from '../events/outbox.js';
import type { Tx } from '../infra/prisma/prisma.service.js';
import { QueueService } from '../infra/queues/queues.module.js';
import { UNTIL_DONE_ATTEMPTS } from '../infra/queues/queues.js';
import { newTestService, type Mocked } from '../testing/new-test-service.js';
import { PaymentDeadlines } from './payment-deadlines.js';
import { OrderStatusPublisher } from './order-status.js';
import { OrdersRepository, type OrderRow } from './orders.repository.js';

const tx = { tx: true } as unknown as Tx;
const row = (id: string): OrderRow => ({
  id,
  saleId: 's',
  userId: 'u',
  quantity: 1,
  amount: 100,
  paymentDeadline: null,
});

/** The payment timeout: a batch of due orders cancelled in one transaction, an early one waited for again. */
describe('PaymentDeadlines: the expiry batch', () => {
  let deadlines: PaymentDeadlines;
  let orders: Mocked<OrdersRepository>;
  let outbox: Mocked<OutboxWriter>;
  let status: Mocked<OrderStatusPublisher>;
  let queues: Mocked<QueueService>;

  beforeEach(() => {
    const t = newTestService(PaymentDeadlines);
    deadlines = t.sut;
    orders = t.mock(OrdersRepository);
    outbox = t.mock(OutboxWriter);
    status = t.mock(OrderStatusPublisher);
    queues = t.mock(QueueService);
    orders.transaction.mockImplementation(async (work) => work(tx));
    outbox.write.mockResolvedValue([]);
    status.publish.mockResolvedValue(undefined);
    orders.stillAwaiting.mockResolvedValue([]);
    queues.enqueue.mockResolvedValue(undefined as never);
  });

  it('cancels the due orders of jobs firing together in one transaction, with order.cancelled and the news', async () => {
    orders.cancel.mockResolvedValue([row('A'), row('B')]);
    await Promise.all([deadlines.expireAll(['A', 'B']), deadlines.expire('A')]);
    expect(orders.transaction).toHaveBeenCalledTimes(1);
    expect(orders.cancel).toHaveBeenCalledWith(tx, ['A', 'B'], {
      from: ['AWAITING_PAYMENT'],
      reason: 'PAYMENT_TIMEOUT',
      pastDeadlineOnly: true,
    });
    const [, events] = outbox.write.mock.calls[0]!;
    expect(events.map((e) => [e.type, e.aggregateId, (e.payload as { reason: string }).reason])).toEqual([
      ['order.cancelled', 'A', 'timeout'],
      ['order.cancelled', 'B', 'timeout'],
    ]);
    expect(status.publish).toHaveBeenCalledWith([
      { orderId: 'A', status: 'CANCELLED', reason: 'PAYMENT_TIMEOUT' },
      { orderId: 'B', status: 'CANCELLED', reason: 'PAYMENT_TIMEOUT' },
    ]);
    expect(queues.enqueue).not.toHaveBeenCalled();
  });

  it('an order not due yet (the job fired early) is waited for again, as Postgres counts the time', async () => {
    orders.cancel.mockResolvedValue([row('A')]);
    orders.stillAwaiting.mockResolvedValue([{ id: 'B', waitMs: 700 }]);
    await deadlines.expireAll(['A', 'B']);
    expect(orders.stillAwaiting).toHaveBeenCalledWith(['B']);
    const [name, data, opts] = queues.enqueue.mock.calls[0]!;
    expect([name, data]).toEqual(['order.expire', { orderId: 'B' }]);
    expect(opts).toMatchObject({ delay: 710, attempts: UNTIL_DONE_ATTEMPTS });
    expect(opts!.jobId).toMatch(/^expire-B-\d+$/);
  });

  it('paid or cancelled orders are left alone: nothing published, nothing rescheduled', async () => {
    orders.cancel.mockResolvedValue([]);
    await deadlines.expire('C');
    expect(status.publish).toHaveBeenCalledWith([]);
    expect(queues.enqueue).not.toHaveBeenCalled();
  });

  it('schedules one delayed job per confirmed event row and second of deadline (job id from both)', async () => {
    const addBulk = jestFnResolving();
    queues.enqueueBulk.mockImplementation(async (jobs) => void (await addBulk([...jobs])));
    const at = Math.ceil(Date.now() / 1000) * 1000 + 60_000;
    await deadlines.schedule([
      { eventId: 'E1', orderId: 'A', paymentDeadline: new Date(at - 400).toISOString() },
      { eventId: 'E1', orderId: 'B', paymentDeadline: new Date(at - 100).toISOString() },
      { eventId: 'E1', orderId: 'C', paymentDeadline: new Date(at + 1).toISOString() },
      { eventId: 'E2', orderId: 'D', paymentDeadline: new Date(at - 400).toISOString() },
    ]);
    const jobs = addBulk.mock.calls[0]![0] as { name: string; data: { orderIds: string[] }; opts: { jobId: string } }[];
    expect(jobs.map((j) => [j.opts.jobId, j.data.orderIds])).toEqual([
      [`expire-E1-${at / 1000}`, ['A', 'B']],
      [`expire-E1-${at / 1000 + 1}`, ['C']],
      [`expire-E2-${at / 1000}`, ['D']],
    ]);
    expect(jobs.every((j) => j.name === 'orders.expire')).toBe(true);
  });
});

function jestFnResolving() {
  return jest.fn(async (_jobs: unknown[]) => [] as unknown[]);
}
