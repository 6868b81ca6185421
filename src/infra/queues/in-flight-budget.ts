/**
 * How many items a job carries: the elements of its arrays (a batch job's
 * tickets, an event job's events inside its rows), counted through nested
 * arrays; a job without arrays is one item.
 */
export function itemsOf(data: unknown): number {
  if (Array.isArray(data)) return data.reduce((sum: number, element: unknown) => sum + itemsOf(element), 0);
  if (typeof data !== 'object' || data === null) return 1;
  let items = 0;
  let arrays = false;
  for (const value of Object.values(data)) {
    if (!Array.isArray(value)) continue;
    arrays = true;
    items += itemsOf(value);
  }
  return arrays ? items : 1;
}

/** Per job started, how much of the largest job size seen is kept when smaller jobs follow. */
const LARGEST_DECAY = 0.999;

/**
 * Bounds the items one BullMQ worker holds, whatever the size of its jobs.
 * Its concurrency counts jobs, and a job may carry hundreds of tickets or
 * thousands of events: a worker behind a backlog fetched concurrency × the
 * largest job into its heap (bench:backlog: 150,000 tickets, 200 MB of a
 * 256 MB heap). BullMQ fetches up to its concurrency in one burst before it
 * starts any of them, so the budget steers the concurrency ahead of the
 * fetch: the jobs running plus as many as the room left holds at the size
 * of the largest job seen lately (forgotten slowly, LARGEST_DECAY per job);
 * at most `concurrency`, at least one. It starts at one job (no size seen
 * yet). The backlog stays in Redis; a job larger than `maxItems` runs alone.
 */
export class InFlightBudget {
  private items = 0;
  private jobs = 0;
  private largest = 0;
  private current: number;

  constructor(
    private readonly maxItems: number,
    private readonly maxJobs: number,
    /** Sets the worker's concurrency (BullMQ reads it before each fetch). */
    private readonly setConcurrency: (jobs: number) => void,
  ) {
    this.current = this.wanted();
  }

  /** The concurrency to start the worker with. */
  get concurrency(): number {
    return this.current;
  }

  /** Items held now (tests). */
  get held(): number {
    return this.items;
  }

  /** A job started with this many items. */
  take(items: number): void {
    this.largest = Math.max(items, this.largest * LARGEST_DECAY);
    this.items += items;
    this.jobs++;
    this.adjust();
  }

  /** A job that started with this many items ended (whatever its outcome). */
  give(items: number): void {
    this.items -= items;
    this.jobs--;
    this.adjust();
  }

  private wanted(): number {
    const room = Math.max(0, this.maxItems - this.items);
    const more = this.largest > 0 ? Math.floor(room / this.largest) : 0;
    return Math.min(this.maxJobs, Math.max(1, this.jobs + more));
  }

  private adjust(): void {
    const wanted = this.wanted();
    if (wanted === this.current) return;
    this.current = wanted;
    this.setConcurrency(wanted);
  }
}
