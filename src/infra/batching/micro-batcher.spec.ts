import { describe, expect, it } from '@jest/globals';
import { MicroBatcher } from './micro-batcher.js';

describe('MicroBatcher', () => {
  it('handles concurrent submissions in batches of at most maxSize', async () => {
    const batches: number[][] = [];
    const batcher = new MicroBatcher<number>(async (items) => void batches.push(items), 4, 5);
    await Promise.all(Array.from({ length: 10 }, (_, i) => batcher.submit(i)));
    expect(batches.flat().sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(batches.every((b) => b.length <= 4)).toBe(true);
    expect(batches.length).toBeLessThanOrEqual(3);
  });

  it('isolates a poison item: the others still succeed', async () => {
    const batcher = new MicroBatcher<number>(async (items) => {
      if (items.includes(3)) throw new Error('bad 3');
    }, 10);
    const results = await Promise.allSettled([1, 2, 3, 4].map((i) => batcher.submit(i)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect((results[2] as PromiseRejectedResult).reason).toEqual(new Error('bad 3'));
  });
});
