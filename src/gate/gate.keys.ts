/**
 * Redis keys of one sale's gate. All share the hash tag `{<saleId>}` so that one
 * Lua script can touch them all, unchanged, on Redis Cluster.
 */
export interface GateKeys {
  /** hash: stock, remaining, startsAt, endsAt (ms), limit, paused (0|1), price */
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
  /** rate-limit counter of a user in the current second */
  userRate(userId: string, second: number): string;
  /** rate-limit counter of an IP address in the current second */
  ipRate(ip: string, second: number): string;
  /** the first admission answered under a user's Idempotency-Key */
  idempotency(userId: string, key: string): string;
}

export function gateKeys(prefix: string, saleId: string): GateKeys {
  const base = `${prefix}:{${saleId}}`;
  return {
    state: `${base}:state`,
    buyers: `${base}:buyers`,
    pending: `${base}:pending`,
    pendingAt: `${base}:pending-at`,
    stats: `${base}:stats`,
    released: `${base}:released`,
    persisted: `${base}:persisted`,
    userRate: (userId, second) => `${base}:rl:u:${userId}:${second}`,
    ipRate: (ip, second) => `${base}:rl:ip:${ip}:${second}`,
    idempotency: (userId, key) => `${base}:idem:${userId}:${key}`,
  };
}

/** Set of sale ids with a gate, for the sweeper and order lookups (not hash-tagged). */
export function gateRegistryKey(prefix: string): string {
  return `${prefix}:gates`;
}

/** Pub/sub channel of sold-out and restock news (`soldout:<saleId>`, `restock:<saleId>`). */
export function gateChannel(prefix: string): string {
  return `${prefix}:gate-news`;
}

/** Pub/sub channel of one order's status changes. */
export function orderChannel(prefix: string, orderId: string): string {
  return `${prefix}:order:${orderId}`;
}

export function allGateKeys(keys: GateKeys): string[] {
  return [keys.state, keys.buyers, keys.pending, keys.pendingAt, keys.stats, keys.released, keys.persisted];
}
