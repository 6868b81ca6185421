import { describe, expect, it } from '@jest/globals';
import { MicroBatcher } from './micro-batcher.js';

describe('MicroBatcher', () => {
  it('handles concurrent groups together, flushing at maxSize items', async () => {
    const batches: number[][] = [];
    const batcher = new MicroBatcher<number>(async (items) => void batches.push(items), 4, 5);
    await Promise.all(Array.from({ length: 10 }, (_, i) => batcher.submit([i])));
    expect(batches.flat().sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(batches.every((b) => b.length <= 4)).toBe(true);
    expect(batches.length).toBeLessThanOrEqual(3);
  });

  it('never splits a group, even above maxSize', async () => {
    const batches: number[][] = [];
    const batcher = new MicroBatcher<number>(async (items) => void batches.push(items), 2, 5);
    await batcher.submit([1, 2, 3, 4, 5]);
    expect(batches).toEqual([[1, 2, 3, 4, 5]]);
  });

  it('isolates a poison group: the others still succeed, each group rejects with its own error', async () => {
    const runs: number[][] = [];
    const batcher = new MicroBatcher<number>(async (items) => {
      runs.push(items);
      if (items.includes(3)) throw new Error('bad 3');
    }, 10);
    const results = await Promise.allSettled([[1], [2, 3], [4]].map((g) => batcher.submit(g)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toEqual(new Error('bad 3'));
    // the merged run, then each group alone; the poison group's items stay together
    expect(runs).toEqual([[1, 2, 3, 4], [1], [2, 3], [4]]);
  });

  it('a lone group that fails is not run twice', async () => {
    let runs = 0;
    const batcher = new MicroBatcher<number>(async () => {
      runs++;
      throw new Error('down');
    }, 10);
    await expect(batcher.submit([1, 2])).rejects.toThrow('down');
    expect(runs).toBe(1);
  });
});
