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
}

export function gateKeys(prefix: string, saleId: string): GateKeys {
  const base = `${prefix}:{${saleId}}`;
  return {
    state: `${base}:state`,
    buyers: `${base}:buyers`,
    pending: `${base}:pending`,
    pendingAt: `${base}:pending-at`,
    stats: `${base}:stats`,
  };
}

export function allGateKeys(keys: GateKeys): string[] {
  return [keys.state, keys.buyers, keys.pending, keys.pendingAt, keys.stats];
}
