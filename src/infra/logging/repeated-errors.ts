import { Logger } from '@nestjs/common';

/** One line per error kind and source per this window, with the count of the ones not written. */
export const REPEAT_WINDOW_MS = 10_000;

interface Pending {
  count: number;
  /** Where the ones not written came from. */
  sources: Set<string>;
  timer: NodeJS.Timeout;
}

/** What identifies "the same error" for collapsing: its code (ECONNREFUSED), else its first line. */
function kindOf(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  if (typeof e?.code === 'string') return e.code;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  // Numbers in messages (ports, ids, counts) would make every error of a kind look new.
  return message.split('\n')[0]!.replace(/\d+/g, '#').slice(0, 200);
}

function describe(err: unknown): { error: string; code?: string } {
  const e = err as { code?: unknown; message?: unknown };
  const error = typeof e?.message === 'string' ? e.message : String(err);
  return typeof e?.code === 'string' ? { error, code: e.code } : { error };
}

/**
 * Errors that come in floods (a Redis outage: every client of every queue
 * and worker reconnecting every 100 ms–2 s, every worker's lock renewals
 * failing) written as JSON through the process's logger, one line per kind
 * of error per window: the first at once, naming its source, then at the
 * window's end one line with how many more there were and from where
 * (nothing when there were none). A window ends and starts again while the
 * errors keep coming.
 */
export class RepeatedErrors {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly logger: Pick<Logger, 'warn'> = new Logger('Errors'),
    private readonly windowMs = REPEAT_WINDOW_MS,
  ) {}

  /** `source` names where it came from (e.g. `redis`, `worker orders`). */
  report(source: string, err: unknown): void {
    const key = kindOf(err);
    const pending = this.pending.get(key);
    if (pending) {
      pending.count++;
      pending.sources.add(source);
      return;
    }
    this.logger.warn({ source, ...describe(err), msg: `${source}: ${describe(err).error}` });
    this.arm(key, err);
  }

  private arm(key: string, err: unknown): void {
    const timer = setTimeout(() => {
      const { count, sources } = this.pending.get(key)!;
      this.pending.delete(key);
      if (count === 0) return;
      const from = [...sources];
      this.logger.warn({
        ...describe(err),
        repeated: count,
        windowMs: this.windowMs,
        sources: from,
        msg: `${describe(err).error} (${count} more in ${this.windowMs / 1000} s, from ${from.join(', ')})`,
      });
      this.arm(key, err);
    }, this.windowMs);
    timer.unref();
    this.pending.set(key, { count: 0, sources: new Set(), timer });
  }

  /** Forgets what is pending (tests, shutdown). */
  clear(): void {
    for (const { timer } of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
  }
}

/** The process's one collector: Redis clients, queues and workers report their errors here. */
export const repeatedErrors = new RepeatedErrors();
