import { describe, expect, it } from '@jest/globals';
import { Lanes } from './send-lanes.js';

/** A task that finishes when told to. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('Lanes', () => {
  it('runs at most `size` tasks at once, the others in arrival order as lanes free up', async () => {
    const lanes = new Lanes(2);
    const gates = [gate(), gate(), gate(), gate()];
    const started: number[] = [];
    let peak = 0;
    const runs = gates.map((g, i) =>
      lanes.run(async () => {
        started.push(i);
        peak = Math.max(peak, lanes.inFlight);
        await g.promise;
        return i;
      }),
    );
    await Promise.resolve();
    expect(started).toEqual([0, 1]);
    gates[1]!.open();
    await runs[1];
    await Promise.resolve();
    expect(started).toEqual([0, 1, 2]);
    gates[0]!.open();
    gates[2]!.open();
    gates[3]!.open();
    await expect(Promise.all(runs)).resolves.toEqual([0, 1, 2, 3]);
    expect(started).toEqual([0, 1, 2, 3]);
    expect(peak).toBe(2);
    expect(lanes.inFlight).toBe(0);
  });

  it('frees the lane of a task that fails', async () => {
    const lanes = new Lanes(1);
    await expect(lanes.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(lanes.run(() => Promise.resolve('next'))).resolves.toBe('next');
    expect(lanes.inFlight).toBe(0);
  });

  it('refuses a size that is not a positive integer', () => {
    expect(() => new Lanes(0)).toThrow('positive integer');
    expect(() => new Lanes(1.5)).toThrow('positive integer');
  });
});
