/**
 * The crowd of `bench:overload`'s ramp on a sale with a waiting room. The
 * shoppers join before the ramp (`joinAll`); then each request of the open
 * loop is, in this order of preference: the poll of a shopper whose refresh
 * time has come (as a browser polls), the join of a shopper who lost their
 * place, or an impatient early poll of a random waiting shopper. Every poll carries the
 * Queue-Token of that shopper's last answer, so an early one is answered
 * from it. A shopper whose answer says `admitted` buys at once with the
 * admission. A shopper whose place is lost (`left`: silent too long, or an
 * admission that lapsed) joins again at the back, and is counted; a shed
 * poll is tried again 1.5 s later (the `Retry-After` of `OVERLOADED`).
 */
import { performance } from 'node:perf_hooks';
import { HttpPool, request } from './http-pool.js';
import type { Answer, OpenLoop, Outgoing } from './open-loop.js';
import type { BenchUser } from './support.js';

/** Where each shopper stands, as the crowd knows it. */
const enum Step {
  Out = 0,
  Waiting = 1,
  Buying = 2,
  Done = 3,
}

export interface CrowdCounts {
  joins: number;
  /** Polls at the shopper's refresh time (answered from Redis), and impatient ones before it (from the token). */
  polls: number;
  earlyPolls: number;
  /** Shoppers seen `admitted` (first time each). */
  admitted: number;
  /** Shoppers who had a place and were told `left` (they join again). */
  lostPlaces: number;
  /** Requests shed (`503 OVERLOADED`) by kind. */
  shed: { join: number; poll: number; buy: number };
  /** Purchases answered, by code (or status). */
  purchaseAnswers: Record<string, number>;
}

interface QueueAnswer {
  state?: string;
  refreshAfterSeconds?: number;
  queueToken?: string | null;
  admission?: { token: string } | null;
}

export class RoomCrowd {
  readonly counts: CrowdCounts = {
    joins: 0,
    polls: 0,
    earlyPolls: 0,
    admitted: 0,
    lostPlaces: 0,
    shed: { join: 0, poll: 0, buy: 0 },
    purchaseAnswers: {},
  };
  private readonly step: Uint8Array;
  private readonly queueTokens: (string | undefined)[];
  private readonly admissions: (string | undefined)[];
  private readonly queuePath: string;
  private readonly orderPath: string;
  /** Shoppers to join, in turn (from `joinAt`). */
  private toJoin: number[] = [];
  private joinAt = 0;
  /** The polls due: a binary heap of [due ms, shopper]; one entry per waiting shopper. */
  private readonly due: [number, number][] = [];
  /** Waiting shoppers, for the early polls. */
  private readonly waiting: number[] = [];
  private loop?: OpenLoop;

  constructor(
    saleId: string,
    private readonly users: BenchUser[],
  ) {
    this.step = new Uint8Array(users.length);
    this.queueTokens = new Array<string | undefined>(users.length);
    this.admissions = new Array<string | undefined>(users.length);
    this.queuePath = `/sales/${saleId}/queue`;
    this.orderPath = `/sales/${saleId}/orders`;
    this.toJoin = users.map((_, u) => u);
  }

  /** The loop that sends the purchases admissions call for. */
  attach(loop: OpenLoop): void {
    this.loop = loop;
  }

  /**
   * Every shopper joins before the ramp (a closed loop of `connections`, not
   * measured: the crowd is in the room when the load starts), so the ramp's
   * requests are polls and purchases from its first second.
   */
  async joinAll(port: number, connections = 64): Promise<void> {
    const pool = new HttpPool(port, connections);
    try {
      const joins = this.toJoin.map((u) => request('POST', this.queuePath, { token: this.users[u]!.token }));
      this.counts.joins += joins.length;
      this.joinAt = this.toJoin.length;
      await pool.sendAll(joins, (i, a) =>
        this.onAnswer({ kind: 'join', status: a.status, code: '', ms: 0, at: a.answeredAt, tag: i, body: a.body }),
      );
    } finally {
      pool.close();
    }
  }

  /** Shoppers who have not bought yet. */
  get remaining(): number {
    let n = 0;
    for (const s of this.step) if (s !== Step.Done) n++;
    return n;
  }

  /** The next request: a poll due, else a join, else an early poll of a random waiting shopper. */
  next = (): Outgoing => {
    const now = performance.now();
    while (this.due.length > 0 && this.due[0]![0] <= now) {
      const u = this.popDue();
      if (this.step[u] === Step.Waiting) return this.poll(u, 'poll');
    }
    while (this.joinAt < this.toJoin.length) {
      const u = this.toJoin[this.joinAt++]!;
      if (this.step[u] === Step.Out) {
        this.counts.joins++;
        const bytes = request('POST', this.queuePath, { token: this.users[u]!.token });
        return { kind: 'join', bytes, tag: u, withBody: true };
      }
    }
    if (this.joinAt > 1024) {
      this.toJoin = this.toJoin.slice(this.joinAt);
      this.joinAt = 0;
    }
    for (let tries = 0; tries < 8 && this.waiting.length > 0; tries++) {
      const i = Math.floor(Math.random() * this.waiting.length);
      const u = this.waiting[i]!;
      if (this.step[u] === Step.Waiting) return this.poll(u, 'early');
      // Not waiting any more: drop it (swap with the last).
      this.waiting[i] = this.waiting[this.waiting.length - 1]!;
      this.waiting.pop();
    }
    return this.poll(0, 'early');
  };

  /** Called for every answer of the loop. */
  onAnswer(a: Answer): void {
    const u = a.tag;
    if (u === undefined) return;
    if (a.kind === 'buy') return this.onPurchase(u, a);
    const step = this.step[u]!;
    if (a.code === 'OVERLOADED') {
      this.counts.shed[a.kind === 'join' ? 'join' : 'poll']++;
      if (a.kind === 'join' && step === Step.Out) this.toJoin.push(u);
      else if (a.kind === 'poll' && step === Step.Waiting) this.pushDue(performance.now() + 1500, u);
      return;
    }
    if (a.status < 200 || a.status >= 300 || !a.body) {
      // Anything else (an error, no answer): the shopper tries again later.
      if (a.kind === 'join' && step === Step.Out) this.toJoin.push(u);
      else if (a.kind === 'poll' && step === Step.Waiting) this.pushDue(performance.now() + 1500, u);
      return;
    }
    const answer = JSON.parse(a.body) as QueueAnswer;
    switch (answer.state) {
      case 'admitted':
        if (step === Step.Out || step === Step.Waiting) {
          if (!this.admissions[u]) this.counts.admitted++;
          this.admissions[u] = answer.admission?.token;
          this.buy(u);
        }
        break;
      case 'prequeue':
      case 'waiting':
        this.queueTokens[u] = answer.queueToken ?? undefined;
        if (step === Step.Out) {
          this.step[u] = Step.Waiting;
          this.waiting.push(u);
        }
        // An early poll's answer repeats the last one: only joins and polls due set the next refresh.
        if (a.kind !== 'early' && this.step[u] === Step.Waiting) {
          this.pushDue(performance.now() + (answer.refreshAfterSeconds ?? 1) * 1000, u);
        }
        break;
      case 'left':
        if (step === Step.Waiting) {
          this.counts.lostPlaces++;
          this.step[u] = Step.Out;
          this.queueTokens[u] = undefined;
          this.toJoin.push(u);
        }
        break;
      case 'used':
      case 'sold_out':
      case 'closed':
        this.step[u] = Step.Done;
        break;
    }
  }

  private poll(u: number, kind: 'poll' | 'early'): Outgoing {
    if (kind === 'poll') this.counts.polls++;
    else this.counts.earlyPolls++;
    const token = this.queueTokens[u];
    return {
      kind,
      bytes: request('GET', this.queuePath, {
        token: this.users[u]!.token,
        headers: token ? { 'queue-token': token } : {},
      }),
      tag: u,
      withBody: true,
    };
  }

  private buy(u: number): void {
    const admission = this.admissions[u];
    if (!admission || !this.loop) return;
    this.step[u] = Step.Buying;
    this.loop.sendNow({
      kind: 'buy',
      bytes: request('POST', this.orderPath, {
        token: this.users[u]!.token,
        headers: { 'admission-token': admission },
        body: '{}',
      }),
      tag: u,
    });
  }

  /** A purchase's answer. Shed or unanswered: back to waiting, polled again soon (the admission stays valid a while). */
  private onPurchase(u: number, a: Answer): void {
    const key = a.code || String(a.status);
    this.counts.purchaseAnswers[key] = (this.counts.purchaseAnswers[key] ?? 0) + 1;
    if (a.code === 'OVERLOADED') this.counts.shed.buy++;
    if (a.status === 503 || a.status === 0) {
      this.step[u] = Step.Waiting;
      this.pushDue(performance.now() + 1500, u);
    } else this.step[u] = Step.Done;
  }

  private pushDue(at: number, u: number): void {
    const heap = this.due;
    heap.push([at, u]);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]![0] <= heap[i]![0]) break;
      [heap[parent], heap[i]] = [heap[i]!, heap[parent]!];
      i = parent;
    }
  }

  private popDue(): number {
    const heap = this.due;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && heap[l]![0] < heap[m]![0]) m = l;
        if (r < heap.length && heap[r]![0] < heap[m]![0]) m = r;
        if (m === i) break;
        [heap[m], heap[i]] = [heap[i]!, heap[m]!];
        i = m;
      }
    }
    return top[1];
  }
}
