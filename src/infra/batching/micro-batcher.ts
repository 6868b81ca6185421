/**
 * Collects items submitted concurrently (BullMQ jobs processed with high
 * concurrency) and handles them together: one transaction for many jobs. Each
 * submit() resolves or rejects with its own item's outcome, so every job still
 * completes or fails on its own in BullMQ.
 *
 * A batch is flushed when it reaches maxSize or lingerMs after its first item.
 * If the batch handler throws, the items are retried one by one so that a
 * single poison item cannot fail the others.
 */
export class MicroBatcher<T> {
  private pending: { item: T; resolve: () => void; reject: (err: unknown) => void }[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly handle: (items: T[]) => Promise<void>,
    private readonly maxSize = 500,
    private readonly lingerMs = 5,
  ) {}

  submit(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (this.pending.length >= this.maxSize) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.lingerMs);
    });
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    this.handle(batch.map((b) => b.item)).then(
      () => batch.forEach((b) => b.resolve()),
      async () => {
        // Re-run each alone, so each error is that item's own.
        for (const b of batch) await this.handle([b.item]).then(b.resolve, b.reject);
      },
    );
  }
}
