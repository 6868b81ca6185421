import { describe, expect, it } from '@jest/globals';
import { ALL_QUEUES, JOB_QUEUE, JobName, parseWorkerQueues, type QueueName } from './queues.js';
import { CONSUMERS } from '../../worker.module.js';
import { addConsumer, assertEveryJobHandled, consumerQueue, type QueueHandlers } from './on-job.js';

describe('parseWorkerQueues', () => {
  it('expands "all" to every queue', () => {
    expect(parseWorkerQueues('all')).toEqual([...ALL_QUEUES]);
  });

  it('keeps a chosen subset without duplicates', () => {
    expect(parseWorkerQueues('ops,ops')).toEqual(['ops']);
  });

  it('refuses an unknown queue by name', () => {
    expect(() => parseWorkerQueues('ops,nope')).toThrow(/nope/);
  });
});

describe('queue contracts', () => {
  it('routes every job to a known queue', () => {
    for (const job of Object.values(JobName)) expect(ALL_QUEUES).toContain(JOB_QUEUE[job]);
  });

  it("has a handler for every job routed to every queue, declared on that queue's consumer", () => {
    const table = new Map<QueueName, QueueHandlers>();
    for (const [queue, { processor }] of Object.entries(CONSUMERS) as [QueueName, (typeof CONSUMERS)[QueueName]][]) {
      expect(consumerQueue(processor)).toBe(queue);
      addConsumer(table, queue, Object.create(processor.prototype as object) as object);
    }
    expect(() => assertEveryJobHandled(ALL_QUEUES, table)).not.toThrow();
  });
});
