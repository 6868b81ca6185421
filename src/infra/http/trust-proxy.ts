import { isIP } from 'node:net';

/** Whose X-Forwarded-For / -Proto / -Host the API believes (Fastify's `trustProxy`). */
export type TrustProxy = false | ((address: string, hop: number) => boolean) | string[];

/** Names proxy-addr knows for address ranges. */
const RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

function isAddressOrRange(entry: string): boolean {
  if (RANGE_NAMES.includes(entry)) return true;
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * TRUST_PROXY: `false` (the default: X-Forwarded-* is ignored, the client is
 * the socket's peer); a hop count `1`..`10` (the last N addresses, the peer
 * included, are proxies: only safe when the API cannot be reached except
 * through them); or a comma list of proxy addresses, CIDRs or the names
 * `loopback`, `linklocal`, `uniquelocal` (trusted only when the request comes
 * from one of them). `true` (trust anyone) is refused: any client could then
 * choose its own address. Returns undefined when the value is none of these.
 */
export function parseTrustProxy(value: string): TrustProxy | undefined {
  const text = value.trim();
  if (text === 'false' || text === '') return false;
  if (/^\d+$/.test(text)) {
    const hops = Number(text);
    if (hops === 0) return false;
    if (hops > 10) return undefined;
    // Fastify turns a bare number into "trust nobody"; a function keeps the hop count.
    return (_address, hop) => hop < hops;
  }
  const entries = text.split(',').map((e) => e.trim());
  return entries.every(isAddressOrRange) ? entries : undefined;
}
