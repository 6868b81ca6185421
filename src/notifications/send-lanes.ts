/**
 * At most `size` calls of `run` at once; the others wait their turn in
 * arrival order. One per channel in a worker, shared by every send job of
 * that channel it runs (batches and single messages), so NOTIFY_CONCURRENCY
 * bounds the messages in flight however many jobs are active.
 */
export class Lanes {
  private busy = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new Error(`lanes: size must be a positive integer, not ${size}`);
  }

  /** Messages in flight now. */
  get inFlight(): number {
    return this.busy;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.busy >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.busy++;
    try {
      return await task();
    } finally {
      // Hand the lane straight to the next in line (busy stays the same), or free it.
      const next = this.waiting.shift();
      if (next) next();
      else this.busy--;
    }
  }
}
