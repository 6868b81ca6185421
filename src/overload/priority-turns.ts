import { performance } from 'node:perf_hooks';

/** A request's work, run when its turn comes. */
export type Deferred = () => void;

/** A first-in first-out line without the O(n) of Array.shift. */
class Line {
  private items: (Deferred | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(work: Deferred): void {
    this.items.push(work);
  }

  shift(): Deferred {
    const work = this.items[this.head]!;
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return work;
  }
}

/**
 * Purchases first, inside one API copy. Node reads every ready socket in one
 * pass of its event loop and runs each request's handler at once, so when
 * thousands of waiting-room polls and joins arrive with a purchase, the
 * purchase's next step (the gate's answer from Redis) waits behind all of
 * them, pass after pass. Here the lower classes' requests wait in lines (one
 * per class, first in first out, the higher line first) and are started in
 * turns of at most `turnMs` after the loop's I/O (setImmediate), so each pass
 * runs the purchases that arrived and the continuations of what is in flight,
 * then a bounded slice of the lines. Nothing is dropped or reordered within a
 * class (a room's joins keep their order); the lines are as long as the
 * connections waiting, since a connection sends its next request only after
 * its answer. On an idle loop a request waits for the end of the pass, a few
 * microseconds.
 */
export class PriorityTurns {
  private readonly lines: Line[];
  private scheduled = false;

  /** `classes`: how many lines, the first served first. */
  constructor(
    private readonly turnMs: number,
    classes: number,
  ) {
    this.lines = Array.from({ length: classes }, () => new Line());
  }

  /** Requests waiting in every line. */
  get waiting(): number {
    let n = 0;
    for (const line of this.lines) n += line.length;
    return n;
  }

  /** Queues `work` in line `rank` (0: the highest). */
  defer(rank: number, work: Deferred): void {
    this.lines[rank]!.push(work);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.turn);
    }
  }

  /** One turn: work from the highest line with any, until the lines are empty or the turn is over. */
  private readonly turn = (): void => {
    const until = performance.now() + this.turnMs;
    try {
      for (let line = this.first(); line; line = this.first()) {
        line.shift()();
        if (performance.now() >= until) return;
      }
    } finally {
      // Also when a request's work threw (it would have thrown in Node's request listener too).
      if (this.waiting > 0) setImmediate(this.turn);
      else this.scheduled = false;
    }
  };

  private first(): Line | undefined {
    for (const line of this.lines) if (line.length > 0) return line;
    return undefined;
  }
}
