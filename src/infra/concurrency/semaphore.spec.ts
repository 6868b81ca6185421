import { describe, expect, it } from '@jest/globals';
import { Semaphore, SemaphoreFull } from './semaphore.js';

/** A piece of work that ends when the test says so. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('Semaphore', () => {
  it('runs at most `slots` at once, the rest in arrival order, and refuses beyond the line', async () => {
    const sem = new Semaphore(2, 2);
    const gates = Array.from({ length: 4 }, gate);
    const started: number[] = [];
    let peak = 0;
    const runs = gates.map((g, i) =>
      sem.run(async () => {
        started.push(i);
        peak = Math.max(peak, sem.running);
        await g.promise;
        return i;
      }),
    );
    await Promise.resolve();
    expect([sem.running, sem.waiting, started, sem.full]).toEqual([2, 2, [0, 1], true]);
    await expect(sem.run(() => Promise.resolve(99))).rejects.toBeInstanceOf(SemaphoreFull);

    gates[1]!.open();
    await runs[1];
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1, 2]);
    for (const g of gates) g.open();
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3]);
    expect(started).toEqual([0, 1, 2, 3]);
    expect([peak, sem.running, sem.waiting, sem.full]).toEqual([2, 0, 0, false]);
  });

  it('a failing piece of work gives its slot back', async () => {
    const sem = new Semaphore(1, 0);
    await expect(sem.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await sem.run(() => Promise.resolve('next'))).toBe('next');
    expect(sem.running).toBe(0);
  });
});
