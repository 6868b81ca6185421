import { partOf, slotOf, tagInPart } from '../infra/redis/slots.js';

/**
 * Redis keys of one bucket of a sale's gate. All share one hash tag (`{<saleId>}`
 * for the first bucket, which is the whole gate of a sale with one bucket) so
 * that one Lua script can touch them all, unchanged, on Redis Cluster.
 */
export interface GateKeys {
  /** hash: stock, remaining, startsAt, endsAt (ms), limit, paused (0|1), price, rateWindow (s), ... */
  state: string;
  /** hash: userId -> units held by live admissions */
  buyers: string;
  /** hash: orderId -> ticket JSON, admitted but not yet persisted */
  pending: string;
  /** sorted set: orderId scored by admission time (ms), for the sweeper */
  pendingAt: string;
  /** hash: counters of outcomes (admitted, SOLD_OUT, ...) */
  stats: string;
  /** set: orders whose units went back to the gate (makes the release idempotent) */
  released: string;
  /**
   * counter: units of tickets cleared because their orders were persisted. A
   * rebuild notes it before reading Postgres; if it moved by the time the Lua
   * call runs, an order may have been committed after the read and its ticket
   * cleared before the call, so the rebuild retries (or counts those units as held).
   */
  persisted: string;
  /**
   * hash: the rate-limit counts of one second (`u:<userId>`, `ip:<address>` -> attempts),
   * kept 2 s (see ADMIT_LUA: the expiry is set once per second, not per shopper)
   */
  rate(second: number): string;
  /** the first admission answered under a user's Idempotency-Key */
  idempotency(userId: string, key: string): string;
  /** hash: transfers of units out of this bucket, transferId -> "toBucket units epoch ms" */
  transfersOut: string;
  /** sorted set: transfers received, transferId scored by ms (a re-sent one is applied once) */
  transfersIn: string;
  /** set: waiting-room admissions used by a purchase ("<userId>:<issuedMs>"), each buys once */
  admissionsUsed: string;
}

/** The keys of one bucket, under hash tag `tag` (see bucketTag). */
export function gateKeys(prefix: string, tag: string): GateKeys {
  const base = `${prefix}:{${tag}}`;
  return {
    state: `${base}:state`,
    buyers: `${base}:buyers`,
    pending: `${base}:pending`,
    pendingAt: `${base}:pending-at`,
    stats: `${base}:stats`,
    released: `${base}:released`,
    persisted: `${base}:persisted`,
    rate: (second) => `${base}:rl:${second}`,
    idempotency: (userId, key) => `${base}:idem:${userId}:${key}`,
    transfersOut: `${base}:xfer-out`,
    transfersIn: `${base}:xfer-in`,
    admissionsUsed: `${base}:adm-used`,
  };
}

/**
 * The hash tag of bucket `bucket` of a sale split into `buckets`: the sale id
 * for bucket 0 (so a sale of one bucket keeps the keys it always had), and for
 * the others a tag whose slot lies in another part of the slot space than
 * bucket 0's, one part each: with an even slot split over as many masters as
 * buckets, every bucket sits on a master of its own.
 */
export function bucketTag(saleId: string, bucket: number, buckets: number): string {
  if (bucket === 0 || buckets <= 1) return saleId;
  const first = partOf(slotOf(`{${saleId}}`), buckets);
  return tagInPart(`${saleId}-b${bucket}`, (first + bucket) % buckets, buckets);
}

/**
 * The bucket that holds a shopper's count (and so every admission of theirs):
 * one bucket per shopper keeps the per-user limit exact under any concurrency.
 */
export function homeBucket(userId: string, buckets: number): number {
  if (buckets <= 1) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < userId.length; i++) h = Math.imul(h ^ userId.charCodeAt(i), 0x01000193);
  return (h >>> 0) % buckets;
}

/** Hash of the bucket count of sales split into more than one bucket (saleId -> count; absent: 1). */
export function gateBucketsKey(prefix: string): string {
  return `${prefix}:gate-buckets`;
}

/** Set of sale ids with a gate, for the sweeper and order lookups (not hash-tagged). */
export function gateRegistryKey(prefix: string): string {
  return `${prefix}:gates`;
}

/** Pub/sub channel of sold-out and restock news (`soldout:<saleId>`, `restock:<saleId>`). */
export function gateChannel(prefix: string): string {
  return `${prefix}:gate-news`;
}

export function allGateKeys(keys: GateKeys): string[] {
  return [
    keys.state,
    keys.buyers,
    keys.pending,
    keys.pendingAt,
    keys.stats,
    keys.released,
    keys.persisted,
    keys.transfersOut,
    keys.transfersIn,
    keys.admissionsUsed,
  ];
}
