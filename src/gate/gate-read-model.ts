import { Inject, Injectable } from '@nestjs/common';
import { GateLayout } from './gate-layout.js';

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

  async stats(saleId: string): Promise<GateStats> {
    const redis = this.layout.redis;
    const parts = await Promise.all(
      (await this.layout.everyBucket(saleId)).map((k) =>
        Promise.all([redis.hmget(k.state, 'remaining', 'stock'), redis.hgetall(k.stats), redis.zcard(k.pendingAt)]),
      ),
    );
    const counters: Record<string, number> = {};
    for (const [, c] of parts)
      for (const [key, v] of Object.entries(c)) counters[key] = (counters[key] ?? 0) + Number(v);
    const first = parts[0]![0];
    return {
      remaining: first[0] === null ? null : parts.reduce((n, [s]) => n + Number(s[0] ?? 0), 0),
      stock: first[1] === null ? null : parts.reduce((n, [s]) => n + Number(s[1] ?? 0), 0),
      counters,
      pending: parts.reduce((n, [, , p]) => n + p, 0),
    };
  }
}
