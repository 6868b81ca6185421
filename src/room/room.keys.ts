/**
 * Redis keys of a sale's waiting room. All share the sale's hash tag
 * (`{<saleId>}`, like the first bucket of its gate), so every room script
 * touches one slot, unchanged on Redis Cluster.
 */
export interface RoomKeys {
  /**
   * hash: the room's settings as the sale has them (version, rate, maxActive,
   * claimMs, startsAt, endsAt, opensAt, maxQueue, paused), and its running
   * state: seq (joins after the start), soldOut, last tick, carry, the
   * measured admission rate and its window
   */
  cfg: string;
  /** sorted set: waiting shoppers; score = a uniform draw in [0, 1) before the start, 1 + join sequence after */
  queue: string;
  /** sorted set: waiting shoppers (queue and shadow) scored by the time they count as gone unless they poll (ms) */
  seen: string;
  /** sorted set: admitted shoppers who have not bought yet, scored by the admission's expiry (ms) */
  active: string;
  /** hash: userId -> when the current admission was issued (ms, Redis time) */
  issued: string;
  /** sorted set: shoppers who bought with their admission, scored by the end of their payment window (ms) */
  buying: string;
  /** sorted set: shadowed identities (anti-bot): they see a position and are never let in */
  shadow: string;
  /** hash: counters (joined, admitted, lapsed, left, gone, used, ended, shadowed) */
  stats: string;
  /** string: the admitter copy holding this room's lease */
  lease: string;
}

export function roomKeys(prefix: string, saleId: string): RoomKeys {
  const base = `${prefix}:{${saleId}}:room`;
  return {
    cfg: `${base}:cfg`,
    queue: `${base}:q`,
    seen: `${base}:seen`,
    active: `${base}:active`,
    issued: `${base}:issued`,
    buying: `${base}:buying`,
    shadow: `${base}:shadow`,
    stats: `${base}:stats`,
    lease: `${base}:lease`,
  };
}

/** The keys in the order every room script takes them. */
export function roomKeyList(k: RoomKeys): string[] {
  return [k.cfg, k.queue, k.seen, k.active, k.issued, k.buying, k.shadow, k.stats, k.lease];
}
