import { describe, expect, it } from '@jest/globals';
import { ALL_QUEUES, JOB_QUEUE, JobName, parseWorkerQueues, type QueueName } from './queues.js';
import { CONSUMERS } from '../../worker.module.js';
import { addConsumer, assertEveryJobHandled, consumerQueues, type QueueHandlers } from './on-job.js';

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
