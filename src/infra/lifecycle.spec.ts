import { describe, expect, it } from '@jest/globals';
import { closeWithin, ShutdownTimeout } from './lifecycle.js';

describe('closeWithin (the bound of every shutdown)', () => {
  it('resolves with the close when it finishes in time', async () => {
    await expect(closeWithin(Promise.resolve('closed'), 1000)).resolves.toBeUndefined();
  });

  it('passes a failed close on as it is', async () => {
    await expect(closeWithin(Promise.reject(new Error('pool gone')), 1000)).rejects.toThrow('pool gone');
  });

  it('turns a close that hangs into a ShutdownTimeout naming what was still closing', async () => {
    const hang = new Promise<void>(() => undefined);
    const result = closeWithin(hang, 20, () => ['orders (orders.place 01J)', 'timeouts (no active job)']);
    await expect(result).rejects.toBeInstanceOf(ShutdownTimeout);
    await expect(result).rejects.toThrow(
      'shutdown took longer than 20 ms (still closing: orders (orders.place 01J), timeouts (no active job))',
    );
  });

  it('says only the bound when nothing is named', async () => {
    await expect(closeWithin(new Promise<void>(() => undefined), 10)).rejects.toThrow(
      /^shutdown took longer than 10 ms$/,
    );
  });
});
