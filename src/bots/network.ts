import { isIPv4, isIPv6 } from 'node:net';

/** A client address in one spelling, and the network it belongs to. */
export interface ClientNetwork {
  /** The address: dotted IPv4 (also for an IPv4-mapped IPv6 address), or IPv6 in full lower-case hex. */
  address: string;
  /** Its /24 (IPv4, `a.b.c`) or /64 (IPv6, the first four groups). */
  network: string;
}

/** Eight groups of four hex digits, lower case (`::` expanded, an embedded IPv4 tail converted). */
function expandIPv6(ip: string): string[] | null {
  let text = ip.toLowerCase();
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  return groups.map((g) => g.padStart(4, '0'));
}

/**
 * The address and network of a client address as Fastify gives it
 * (`request.ip`, after the trusted proxies); null when it is not an IP
 * address (the signals keyed by it are then skipped).
 */
export function clientNetwork(ip: string): ClientNetwork | null {
  if (isIPv4(ip)) return { address: ip, network: ip.slice(0, ip.lastIndexOf('.')) };
  if (!isIPv6(ip)) return null;
  const groups = expandIPv6(ip);
  if (!groups) return null;
  // ::ffff:a.b.c.d is an IPv4 client seen through a dual-stack socket
  if (groups.slice(0, 5).every((g) => g === '0000') && groups[5] === 'ffff') {
    const hi = parseInt(groups[6]!, 16);
    const lo = parseInt(groups[7]!, 16);
    return clientNetwork(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`);
  }
  return { address: groups.join(':'), network: groups.slice(0, 4).join(':') };
}
