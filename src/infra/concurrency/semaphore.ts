/** Thrown by Semaphore.run when every slot is taken and the waiting line is full. */
export class SemaphoreFull extends Error {
  constructor() {
    super('every slot is taken and the waiting line is full');
    this.name = 'SemaphoreFull';
  }
}

/**
 * At most `slots` pieces of work at once; up to `maxWaiting` more wait their
 * turn in arrival order, and beyond that `run` refuses at once (SemaphoreFull)
 * instead of letting a line grow without bound.
 */
export class Semaphore {
  private active = 0;
  private readonly line: (() => void)[] = [];

  constructor(
    private readonly slots: number,
    private readonly maxWaiting: number,
  ) {}

  get running(): number {
    return this.active;
  }

  get waiting(): number {
    return this.line.length;
  }

  /** Every slot taken and the line full: `run` would refuse now. */
  get full(): boolean {
    return this.active >= this.slots && this.line.length >= this.maxWaiting;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active < this.slots) {
      this.active += 1;
    } else {
      if (this.full) throw new SemaphoreFull();
      // The slot is handed over by the one finishing (active stays the same).
      await new Promise<void>((resolve) => this.line.push(resolve));
    }
    try {
      return await work();
    } finally {
      const next = this.line.shift();
      if (next) next();
      else this.active -= 1;
    }
  }
}
