import { Inject, Injectable } from '@nestjs/common';
import { GateLayout } from './gate-layout.js';
import type { GateKeys } from './gate.keys.js';
import type { Ticket } from './tickets.js';

/**
 * The ticket store: admissions not yet persisted as orders (a ticket is the
 * durable record of an admission until its order exists), the units given
 * back to a sale, and the transfers between its buckets left half done.
 */
@Injectable()
export class GateTickets {
  constructor(@Inject(GateLayout) private readonly layout: GateLayout) {}

  /** Gives an order's units back to its shopper's bucket (once per order); true when given back now. */
  async release(saleId: string, orderId: string, userId: string, quantity: number): Promise<boolean> {
    const k = await this.layout.homeKeys(saleId, userId);
    const done = await this.layout.redis.gateRelease(
      k.state,
      k.buyers,
      k.released,
      k.pending,
      k.pendingAt,
      k.stats,
      orderId,
      userId,
      quantity,
      this.layout.channel,
      saleId,
    );
    return done === 1;
  }

  /**
   * Drops tickets whose orders are persisted: one script per bucket, however
   * many tickets (see CLEAR_LUA; `persisted` goes up only by the units of
   * tickets still pending, and in the same atomic step, so a rebuild sees it
   * moved). Throws if any call failed: the caller's job is then retried, and
   * clearing again is harmless.
   */
  async clearTickets(tickets: { saleId: string; userId: string; orderId: string; quantity: number }[]): Promise<void> {
    if (tickets.length === 0) return;
    const byBucket = new Map<string, { keys: GateKeys; args: (string | number)[] }>();
    for (const t of tickets) {
      const keys = await this.layout.homeKeys(t.saleId, t.userId);
      const entry = byBucket.get(keys.pending);
      if (entry) entry.args.push(t.orderId, t.quantity);
      else byBucket.set(keys.pending, { keys, args: [t.orderId, t.quantity] });
    }
    await Promise.all(
      [...byBucket.values()].map(({ keys: k, args }) =>
        this.layout.redis.gateClear(k.pending, k.pendingAt, k.persisted, k.stats, ...args),
      ),
    );
  }

  /** Tickets admitted before `olderThan` (ms), oldest first per bucket. */
  async staleTickets(saleId: string, olderThan: number, limit: number): Promise<Ticket[]> {
    const redis = this.layout.redis;
    const found: Ticket[] = [];
    for (const k of await this.layout.everyBucket(saleId)) {
      const ids = await redis.zrangebyscore(k.pendingAt, '-inf', olderThan, 'LIMIT', 0, limit);
      if (ids.length === 0) continue;
      const raw = await redis.hmget(k.pending, ...ids);
      for (const json of raw) if (json) found.push(JSON.parse(json) as Ticket);
    }
    return found;
  }

  /**
   * Completes transfers between a sale's buckets older than `olderThan` (ms)
   * whose API copy died between taking the units and handing them on: the
   * units reach their bucket once (GIVE_LUA), then the record goes. Returns how many.
   */
  async completeTransfers(saleId: string, olderThan: number): Promise<number> {
    const redis = this.layout.redis;
    const buckets = await this.layout.bucketsOf(saleId);
    if (buckets === 1) return 0;
    let done = 0;
    for (let b = 0; b < buckets; b++) {
      const k = this.layout.bucketKeys(saleId, b, buckets);
      for (const [id, record] of Object.entries(await redis.hgetall(k.transfersOut))) {
        const [to, units, epoch, at] = record.split(' ');
        if (Number(at) > olderThan) continue;
        const target = this.layout.bucketKeys(saleId, Number(to), buckets);
        await redis.gateGive(target.state, target.transfersIn, id, Number(units), epoch ?? '', Date.now());
        await redis.hdel(k.transfersOut, id);
        done++;
      }
    }
    return done;
  }

  /**
   * A ticket not yet persisted, found across the sales that have a gate (one
   * HGET per bucket, each routed to its own node on a cluster).
   */
  async findTicket(orderId: string): Promise<Ticket | null> {
    const sales = await this.gatedSales();
    const buckets = (await Promise.all(sales.map((saleId) => this.layout.everyBucket(saleId)))).flat();
    const results = await Promise.all(buckets.map((k) => this.layout.redis.hget(k.pending, orderId).catch(() => null)));
    const found = results.find((value) => typeof value === 'string');
    return found ? (JSON.parse(found) as Ticket) : null;
  }

  /** The sales that have a gate (for the sweeper and order lookups). */
  gatedSales(): Promise<string[]> {
    return this.layout.redis.smembers(this.layout.registryKey);
  }
}
