import { describe, expect, it } from '@jest/globals';
import { placeOrdersJob, type Ticket } from './gate/tickets.js';
import { addConsumer, assertEveryJobHandled, consumerQueues, type QueueHandlers } from './infra/queues/on-job.js';
import { ALL_QUEUES, EventName, JobName, type JobKind, type QueueName } from './infra/queues/queues.js';
import { placedEvent } from './orders/order-pipeline.service.js';
import { cancelledEvent, orderFacts } from './orders/order.events.js';
import type { OrderRow } from './orders/orders.repository.js';
import type { NotifyConfig } from './infra/config/app-config.js';
import { retryAloneJob, SEND_BATCH_MAX, sendBatchJobs } from './notifications/send-jobs.js';
import { CONSUMERS, payloadGuards } from './worker.module.js';

describe("the worker's consumers", () => {
  it("has a handler for every job routed to every queue, declared on that queue's consumer", () => {
    const table = new Map<QueueName, QueueHandlers>();
    const processors = new Set<(typeof CONSUMERS)[QueueName]['processor']>();
    for (const [queue, { processor }] of Object.entries(CONSUMERS) as [QueueName, (typeof CONSUMERS)[QueueName]][]) {
      expect(consumerQueues(processor)).toContain(queue);
      processors.add(processor);
    }
    for (const processor of processors) {
      addConsumer(table, consumerQueues(processor), Object.create(processor.prototype as object) as object);
    }
    expect(() => assertEveryJobHandled(ALL_QUEUES, table)).not.toThrow();
  });
});

describe("the worker's payload guards", () => {
  const ALL_KINDS: JobKind[] = [...Object.values(JobName), ...Object.values(EventName)];
  const order: OrderRow = { id: 'o1', saleId: 's1', userId: 'u1', quantity: 2, amount: 500, paymentDeadline: null };
  const ticket: Ticket = { orderId: 'o1', saleId: 's1', userId: 'u1', quantity: 1, admittedAt: 1_700_000_000_000 };
  const rows = (...payloads: unknown[]) => ({ rows: [{ eventId: 'e1', payloads }] });
  const notify = { NOTIFY_ATTEMPTS: 5, NOTIFY_BACKOFF_MS: 2000 } as NotifyConfig;
  /** Data of each job as its producer makes it (the builders where there are some). */
  const MADE: { [K in JobKind]: unknown } = {
    [JobName.Ping]: { sentAt: Date.now() },
    [JobName.PreheatSale]: { saleId: 's1' },
    [JobName.ReconcileSales]: {},
    [JobName.PlaceOrder]: ticket,
    [JobName.PlaceOrders]: placeOrdersJob('b1', [
      { ...ticket, batch: 'b1' },
      { ...ticket, orderId: 'o2' },
    ]).data,
    [JobName.SweepTickets]: {},
    [JobName.SendEmail]: { notificationId: 'n1' },
    [JobName.SendSms]: { notificationId: 'n1' },
    [JobName.SendEmails]: sendBatchJobs(notify, 'EMAIL', ['n1', 'n2'])[0]!.data,
    [JobName.SendSmsBatch]: sendBatchJobs(notify, 'SMS', ['n3'])[0]!.data,
    [JobName.ExpireOrder]: { orderId: 'o1' },
    [JobName.ExpireOrders]: { orderIds: ['o1', 'o2'] },
    [EventName.OrderPlaced]: rows(placedEvent(order).payload),
    [EventName.OrderConfirmed]: rows({ ...orderFacts(order), paymentDeadline: new Date().toISOString() }),
    [EventName.OrderPaid]: rows({ ...orderFacts(order), paymentId: 'p1', paidAt: new Date().toISOString() }),
    [EventName.OrderCancelled]: rows(
      cancelledEvent(order, 'timeout').payload,
      cancelledEvent(order, 'requested').payload,
    ),
    [EventName.InventoryReserved]: rows({ orderId: 'o1', saleId: 's1', quantity: 2 }),
    [EventName.InventoryRejected]: rows({ orderId: 'o1', saleId: 's1', quantity: 2, reason: 'OUT_OF_STOCK' }),
    [EventName.InventoryReturned]: rows({ orderId: 'o1', saleId: 's1', userId: 'u1', quantity: 2 }),
  };

  it('has one for every job and every event', () => {
    expect(Object.keys(payloadGuards).sort()).toEqual([...ALL_KINDS].sort());
  });

  it.each(ALL_KINDS)(
    '%s: accepts a well-formed payload (as its producer builds it where a builder exists), refuses null and a string',
    (kind) => {
      const guard = payloadGuards[kind];
      expect(guard(MADE[kind])).toBe(true);
      expect(guard(null)).toBe(false);
      expect(guard('x')).toBe(false);
    },
  );

  it.each(ALL_KINDS.filter((k) => k !== JobName.ReconcileSales && k !== JobName.SweepTickets))(
    '%s: refuses an empty object and data missing a field',
    (kind) => {
      const guard = payloadGuards[kind];
      expect(guard({})).toBe(false);
      const made = MADE[kind] as Record<string, unknown>;
      const payload = ((made.rows as { payloads: Record<string, unknown>[] }[] | undefined)?.[0]?.payloads[0] ??
        made) as Record<string, unknown>;
      for (const field of Object.keys(payload).filter((f) => f !== 'batch')) {
        const rest = { ...payload };
        delete rest[field];
        expect([field, guard(made.rows ? rows(rest) : rest)]).toEqual([field, false]);
      }
    },
  );

  it('refuses a batch of tickets that is empty or holds one that is not a ticket', () => {
    const guard = payloadGuards[JobName.PlaceOrders];
    expect(guard({ tickets: [] })).toBe(false);
    expect(guard({ tickets: [ticket, { ...ticket, quantity: '1' }] })).toBe(false);
    expect(guard({ tickets: [ticket, { ...ticket, quantity: 1.5 }] })).toBe(false);
    expect(payloadGuards[JobName.ExpireOrders]({ orderIds: ['o1', 2] })).toBe(false);
    expect(payloadGuards[EventName.OrderCancelled](rows({ ...orderFacts(order), reason: 'bored' }))).toBe(false);
  });

  it('takes a message continuing alone after its batch, and refuses send batches that are empty, too long or not ids', () => {
    expect(payloadGuards[JobName.SendSms](retryAloneJob(notify, 'SMS', 'n1').data)).toBe(true);
    expect(payloadGuards[JobName.SendEmail]({ notificationId: 'n1', attemptsBefore: -1 })).toBe(false);
    expect(payloadGuards[JobName.SendEmail]({ notificationId: 'n1', attemptsBefore: '1' })).toBe(false);
    const guard = payloadGuards[JobName.SendEmails];
    expect(guard({ notificationIds: [] })).toBe(false);
    expect(guard({ notificationIds: ['n1', 2] })).toBe(false);
    expect(guard({ notificationIds: 'n1' })).toBe(false);
    const ids = Array.from({ length: SEND_BATCH_MAX + 1 }, (_, i) => `n${i}`);
    expect(guard({ notificationIds: ids })).toBe(false);
    const jobs = sendBatchJobs(notify, 'EMAIL', ids);
    expect(jobs.map((j) => j.data)).toEqual([
      { notificationIds: ids.slice(0, -1) },
      { notificationIds: ids.slice(-1) },
    ]);
    expect(jobs.every((j) => guard(j.data))).toBe(true);
  });
});
