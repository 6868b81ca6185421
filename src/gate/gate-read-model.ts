import { Inject, Injectable } from '@nestjs/common';
import type { Cluster, Redis } from 'ioredis';
import { GateLayout } from './gate-layout.js';
import type { GateKeys } from './gate.keys.js';
import { GATE_TALLY } from './gate.scripts.js';

export interface GateStats {
  remaining: number | null;
  stock: number | null;
  counters: Record<string, number>;
  pending: number;
}

/**
 * What the gate says about a sale, for views and stats: units remaining,
 * tickets pending, outcome counters (all buckets added up); and the
 * outcomes counted outside Redis, added to those counters.
 */
@Injectable()
export class GateReadModel {
  constructor(@Inject(GateLayout) private readonly layout: GateLayout) {}

  /** Remaining units per the gate (all buckets), or null when the sale is not preheated. */
  async remaining(saleId: string): Promise<number | null> {
    const values = await Promise.all(
      (await this.layout.everyBucket(saleId)).map((k) => this.layout.redis.hget(k.state, 'remaining')),
    );
    if (values[0] === null || values[0] === undefined) return null;
    return values.reduce((n, v) => n + Number(v ?? 0), 0);
  }

  /** Remaining of many sales (null: not preheated); one command per bucket, routed per node. */
  remainingMany(saleIds: string[]): Promise<(number | null)[]> {
    return Promise.all(saleIds.map((id) => this.remaining(id).catch(() => null)));
  }

  /** Admissions not yet persisted as orders. */
  async pendingCount(saleId: string): Promise<number> {
    const counts = await Promise.all(
      (await this.layout.everyBucket(saleId)).map((k) => this.layout.redis.zcard(k.pendingAt)),
    );
    return counts.reduce((a, b) => a + b, 0);
  }

  /** Adds outcomes counted outside Redis (refusals answered from a local flag), in each sale's first bucket. */
  async addCounts(counts: Map<string, Map<string, number>>): Promise<void> {
    const writes: Promise<number>[] = [];
    for (const [saleId, byCode] of counts) {
      for (const [code, n] of byCode) writes.push(this.layout.redis.hincrby(this.layout.keys(saleId).stats, code, n));
    }
    await Promise.all(writes);
  }

  /**
   * Remaining, stock, outcome counters and pending tickets, all buckets added
   * up. A bucket's figures are read in one transaction, so `admitted` (on a
   * gate that counts it from its tickets, see GATE_TALLY: settled + pending)
   * never counts a batch being cleared twice or not at all.
   */
  async stats(saleId: string): Promise<GateStats> {
    const parts = await Promise.all(
      (await this.layout.everyBucket(saleId)).map((k) => bucketStats(this.layout.redis, k)),
    );
    const counters: Record<string, number> = {};
    for (const { counters: c } of parts)
      for (const [key, v] of Object.entries(c)) counters[key] = (counters[key] ?? 0) + v;
    const first = parts[0]!;
    return {
      remaining: first.remaining === null ? null : parts.reduce((n, p) => n + (p.remaining ?? 0), 0),
      stock: first.stock === null ? null : parts.reduce((n, p) => n + (p.stock ?? 0), 0),
      counters,
      pending: parts.reduce((n, p) => n + p.pending, 0),
    };
  }
}

/**
 * One bucket's remaining, stock, outcome counters and pending tickets, read
 * in one transaction; `admitted` as the gate counts it (see GATE_TALLY). Also
 * for the benches, which read a sale's gate with a client of their own.
 */
export async function bucketStats(redis: Redis | Cluster, k: GateKeys): Promise<GateStats> {
  const replies = await redis
    .multi()
    .hmget(k.state, 'remaining', 'stock', 'tally')
    .hgetall(k.stats)
    .zcard(k.pendingAt)
    .exec();
  if (!replies) throw new Error('gate stats: transaction aborted');
  for (const [err] of replies) if (err) throw err;
  const [state, raw, pending] = replies.map(([, value]) => value) as [
    (string | null)[],
    Record<string, string>,
    number,
  ];
  const counters: Record<string, number> = {};
  for (const [key, v] of Object.entries(raw)) counters[key] = Number(v);
  if (state[2] === GATE_TALLY) counters.admitted = (counters.settled ?? 0) + pending;
  delete counters.settled;
  return {
    remaining: state[0] === null ? null : Number(state[0]),
    stock: state[1] === null ? null : Number(state[1]),
    counters,
    pending,
  };
}
