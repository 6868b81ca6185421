/**
 * Collects groups of items submitted concurrently (each group: the items of
 * one BullMQ job) and handles them together: one transaction for many jobs.
 * Each submit() resolves or rejects with its own group's outcome, so every job
 * still completes or fails on its own in BullMQ.
 *
 * A batch is flushed when it holds maxSize items or lingerMs after its first
 * group. If the batch handler throws and the batch held several groups, each
 * group is run again alone, so one poison job cannot fail the others. A group
 * is never split: its items may share what makes them idempotent (the events
 * of one outbox row share the row's id, which a consumer records once).
 */
export class MicroBatcher<T> {
  private pending: { items: T[]; resolve: () => void; reject: (err: unknown) => void }[] = [];
  private size = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly handle: (items: T[]) => Promise<void>,
    private readonly maxSize = 500,
    private readonly lingerMs = 5,
  ) {}

  submit(items: T[]): Promise<void> {
    if (items.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ items, resolve, reject });
      this.size += items.length;
      if (this.size >= this.maxSize) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.lingerMs);
    });
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    this.size = 0;
    if (batch.length === 0) return;
    this.handle(batch.length === 1 ? batch[0]!.items : batch.flatMap((b) => b.items)).then(
      () => batch.forEach((b) => b.resolve()),
      async (err: unknown) => {
        if (batch.length === 1) return batch[0]!.reject(err);
        // Re-run each group alone, so each error is that group's own.
        for (const b of batch) await this.handle(b.items).then(b.resolve, b.reject);
      },
    );
  }
}
