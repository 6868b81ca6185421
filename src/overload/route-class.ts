/**
 * Every request belongs to a class, read from its method and raw path at the
 * door (before any routing, so it costs a few string compares):
 * - `buy`: purchases, payments and cancellations (what turns the crowd into
 *   orders and gives units back); shed last, only by the adaptive limit;
 * - `track`: order reads, order status streams, sign-in and joining a
 *   waiting room; shed after `browse`;
 * - `browse`: the storefront, waiting-room polls and anything else; shed first;
 * - `exempt`: health, metrics, admin pages and routes, the API docs and CORS
 *   preflights; never shed.
 */
export type RouteClass = 'buy' | 'track' | 'browse' | 'exempt';

/** The classes that can be shed, in the order they are shed last to first. */
export const SHEDDABLE = ['buy', 'track', 'browse'] as const;
export type SheddableClass = (typeof SHEDDABLE)[number];

const EXEMPT_PREFIXES = ['/health', '/metrics', '/admin', '/docs'];

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

function startsWithAny(path: string, prefixes: readonly string[]): boolean {
  for (const prefix of prefixes) {
    if (path.startsWith(prefix) && (path.length === prefix.length || path[prefix.length] === '/')) return true;
  }
  return false;
}

export function classify(method: string | undefined, url: string | undefined): RouteClass {
  const path = pathOf(url ?? '/');
  if (method === 'OPTIONS' || startsWithAny(path, EXEMPT_PREFIXES)) return 'exempt';
  if (method === 'POST') {
    if (path.startsWith('/sales/')) {
      if (path.endsWith('/orders') || path.endsWith('/orders/')) return 'buy';
      // Joining a waiting room (POST /sales/:id/queue); polls (GET) stay browse.
      if (path.endsWith('/queue') || path.endsWith('/queue/')) return 'track';
    }
    if (path.startsWith('/orders/') && (path.endsWith('/pay') || path.endsWith('/cancel'))) return 'buy';
    if (path.startsWith('/auth/')) return 'track';
  }
  if (path.startsWith('/orders/') || path.startsWith('/me/')) return 'track';
  return 'browse';
}

/**
 * A waiting room's join (`POST /sales/:id/queue`) or poll (`GET`), read
 * from the raw path at the door; undefined for anything else. The door never
 * sheds a join (it takes a place, and a shed post-start join loses its
 * first-come order) and may class a poll from near the head with purchases.
 */
export function roomRequest(method: string | undefined, url: string | undefined): 'join' | 'poll' | undefined {
  if (url === undefined || !url.startsWith('/sales/')) return undefined;
  const path = pathOf(url);
  if (!path.endsWith('/queue') && !path.endsWith('/queue/')) return undefined;
  return method === 'POST' ? 'join' : method === 'GET' ? 'poll' : undefined;
}

/** Long-lived answers (server-sent events): admitted or shed at the door, never counted in flight. */
export function isStream(url: string | undefined): boolean {
  const path = pathOf(url ?? '/');
  return path.endsWith('/events') || path.endsWith('/stream');
}
