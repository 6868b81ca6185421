import { performance } from 'node:perf_hooks';

/** A request's work, run when its turn comes. */
export type Deferred = () => void;

/**
 * Purchases first, inside one API copy. Node reads every ready socket in one
 * pass of its event loop and runs each request's handler at once, so when
 * thousands of waiting-room polls and joins arrive with a purchase, the
 * purchase's next step (the gate's answer from Redis) waits behind all of
 * them, pass after pass. Here the requests below the buy class wait in one
 * line (first in first out: nothing reordered among them, so a room's joins
 * keep their order and no poll is starved by joins) and are started in turns
 * of at most `turnMs` after the loop's I/O (setImmediate): each pass runs the
 * purchases that arrived and the continuations of what is in flight, then a
 * bounded slice of the line. The line is as long as the connections waiting
 * (a connection sends its next request after its answer); on an idle loop a
 * request waits for the end of the pass, a few microseconds.
 */
export class PriorityTurns {
  private readonly line: Deferred[] = [];
  private scheduled = false;

  constructor(private readonly turnMs: number) {}

  /** Requests waiting for their turn. */
  get waiting(): number {
    return this.line.length;
  }

  /** Queues `work` for the next turn. */
  defer(work: Deferred): void {
    this.line.push(work);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.turn);
    }
  }

  /** One turn: work from the line until it is empty or the turn is over. */
  private readonly turn = (): void => {
    const until = performance.now() + this.turnMs;
    try {
      while (this.line.length > 0) {
        this.line.shift()!();
        if (performance.now() >= until) return;
      }
    } finally {
      // Also when a request's work threw (it would have thrown in Node's request listener too).
      if (this.line.length > 0) setImmediate(this.turn);
      else this.scheduled = false;
    }
  };
}
