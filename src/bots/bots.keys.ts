import { createHash } from 'node:crypto';

/**
 * Redis keys of a sale's anti-bot screen. All share the sale's hash tag
 * (`{<saleId>}`, like its gate and its room), so the screen's one script call
 * touches one slot, unchanged on Redis Cluster. Every key lives until a day
 * after the sale ends.
 */
export interface BotsKeys {
  /** hash: userId -> "ordinal:burst", accounts seen on a client address (burst: new ones in its window, itself included) */
  address(address: string): string;
  /** hash: userId -> ordinal, accounts seen on a network (/24, /64) */
  network(network: string): string;
  /** hash: userId -> ordinal, accounts seen on a device id (a digest of the header) */
  device(deviceId: string): string;
  /** counter: new accounts seen on an address in one burst window (numbered from the epoch) */
  burst(address: string, window: number): string;
  /** string: a used challenge (its salt), kept until the challenge expires: the replay guard */
  proof(salt: string): string;
  /** hash: userId -> "verdict:reason:tier", each identity's verdict when it joined */
  judged: string;
  /** hash: counters of verdicts by reason: `shadow:address`, `refuse:device`, `log:shadow:burst`, … */
  stats: string;
}

/** Device ids are hints of any length: keyed by a digest, so a long one makes no long key. */
function deviceDigest(deviceId: string): string {
  return createHash('sha256').update(deviceId).digest('base64url').slice(0, 16);
}

export function botsKeys(prefix: string, saleId: string): BotsKeys {
  const base = `${prefix}:{${saleId}}:bots`;
  return {
    address: (address) => `${base}:addr:${address}`,
    network: (network) => `${base}:net:${network}`,
    device: (deviceId) => `${base}:dev:${deviceDigest(deviceId)}`,
    burst: (address, window) => `${base}:burst:${address}:${window}`,
    proof: (salt) => `${base}:proof:${salt}`,
    judged: `${base}:judged`,
    stats: `${base}:stats`,
  };
}
