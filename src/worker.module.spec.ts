import { describe, expect, it } from '@jest/globals';
import { addConsumer, assertEveryJobHandled, consumerQueues, type QueueHandlers } from './infra/queues/on-job.js';
import { ALL_QUEUES, type QueueName } from './infra/queues/queues.js';
import { CONSUMERS } from './worker.module.js';

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
