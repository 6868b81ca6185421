import { beforeEach, describe, expect, it, jest } from '@jest/globals';
import { GateRebuild, type OrdersOfRecord, type RebuildAnswer } from '../gate/gate-rebuild.js';
import { QueueService } from '../infra/queues/queues.module.js';
import { newTestService, type Mocked } from '../testing/new-test-service.js';
import { saleRow } from '../testing/sales.js';
import { ReconcileService } from './reconcile.service.js';
import { OrdersOfRecordReader } from './orders-of-record.js';

const ID = '5f0e3c1a-8a9b-4e38-9d1f-2c3b4a5d6e7f';
const sale = saleRow({ id: ID });

const answer = (over: Partial<RebuildAnswer>): RebuildAnswer => ({
  status: 'DONE',
  current: 10,
  expected: 10,
  moved: 0,
  buyers: [],
  ...over,
});

describe('ReconcileService.run: rebuild the gate from the orders of record', () => {
  let service: ReconcileService;
  let ordersOfRecord: Mocked<OrdersOfRecordReader>;
  let gate: Mocked<GateRebuild>;
  let addBulk: jest.Mock<(jobs: unknown[]) => Promise<unknown>>;
  let orders: OrdersOfRecord;

  beforeEach(() => {
    const t = newTestService(ReconcileService);
    service = t.sut;
    ordersOfRecord = t.mock(OrdersOfRecordReader);
    gate = t.mock(GateRebuild);
    addBulk = jest.fn(async () => []);
    t.mock(QueueService).enqueueBulk.mockImplementation(async (jobs) => void (await addBulk([...jobs])));
    orders = { live: [], dead: [], awaiting: [] };
    ordersOfRecord.read.mockImplementation(async () => orders);
    let mark = 0;
    gate.persistedMark.mockImplementation(async () => String(++mark) as never);
  });

  it('reads Postgres again while orders are being persisted; the fifth attempt is made in safe mode', async () => {
    gate.rebuild.mockResolvedValue(answer({ status: 'MOVED' }));
    gate.rebuild.mockResolvedValueOnce(answer({ status: 'MOVED' })).mockResolvedValueOnce(answer({ status: 'MOVED' }));
    gate.rebuild.mockResolvedValueOnce(answer({ status: 'MOVED' })).mockResolvedValueOnce(answer({ status: 'MOVED' }));
    gate.rebuild.mockResolvedValueOnce(answer({ status: 'DONE', moved: 2, expected: 6 }));
    const result = await service.run(sale, 'repair');
    expect(result).toMatchObject({ status: 'DONE', moved: 2, expected: 6 });
    expect(ordersOfRecord.read).toHaveBeenCalledTimes(5);
    // One mark per read, each passed with its read; only the last attempt is safe.
    expect(gate.rebuild.mock.calls.map(([, o]) => [o.mark, o.safe])).toEqual([
      ['1', false],
      ['2', false],
      ['3', false],
      ['4', false],
      ['5', true],
    ]);
    expect(gate.rebuild.mock.calls[0]![1].settings).toMatchObject({ stock: 10, perUserLimit: 1, buckets: 1 });
  });

  it('a gate that was missing (Redis lost its data) gets the unpaid orders’ payment deadlines back', async () => {
    const deadline = new Date(Date.now() + 60_000);
    orders = {
      live: [{ orderId: 'A', userId: 'u', quantity: 1 }],
      dead: [],
      awaiting: [{ orderId: 'A', paymentDeadline: deadline }],
    };
    gate.rebuild.mockResolvedValue(answer({ current: null, expected: 9 }));
    await service.run(sale, 'repair');
    expect(addBulk).toHaveBeenCalledTimes(1);
    const [job] = addBulk.mock.calls[0]![0] as {
      name: string;
      data: unknown;
      opts: { jobId: string; delay: number };
    }[];
    expect(job).toMatchObject({ name: 'order.expire', data: { orderId: 'A' }, opts: { jobId: 'expire-A' } });
    expect(job!.opts.delay).toBeGreaterThan(50_000);
  });

  it('a gate that existed, or a check, schedules nothing', async () => {
    orders = { live: [], dead: [], awaiting: [{ orderId: 'A', paymentDeadline: new Date() }] };
    gate.rebuild.mockResolvedValue(answer({ current: 10 }));
    await service.run(sale, 'repair');
    gate.rebuild.mockResolvedValue(answer({ current: null }));
    await service.run(sale, 'check');
    expect(addBulk).not.toHaveBeenCalled();
  });

  it('restock rebuilds with the new stock and refuses to go below the units held', async () => {
    gate.rebuild.mockResolvedValue(answer({ status: 'SHORT', expected: -2 }));
    const result = await service.restock(sale, 4);
    expect(result.status).toBe('SHORT');
    const [, options] = gate.rebuild.mock.calls[0]!;
    expect([options.mode, options.settings.stock, options.guard]).toEqual(['repair', 4, true]);
  });
});
