import { describe, expect, it } from '@jest/globals';
import { ALL_QUEUES, JOB_QUEUE, JobName, parseWorkerQueues } from './queues.js';

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
});
