import { Inject, Injectable } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { MetricsRegistry } from '../infra/metrics/metrics.registry.js';
import type { TickResult } from './room.store.js';

/**
 * The waiting rooms' metrics (`flash_room_*`). Labelled by sale: only sales
 * with a room reach them (the routes check the sale first), a handful at a time.
 * API processes count joins and polls; the admitter (a worker) sets the
 * gauges and counts admissions, lapses and departures on each turn.
 */
@Injectable()
export class RoomMetrics {
  private readonly joins: Counter<'sale'>;
  private readonly polls: Counter<'sale' | 'source'>;
  private readonly admitted: Counter<'sale'>;
  private readonly lapsed: Counter<'sale'>;
  private readonly gone: Counter<'sale'>;
  private readonly waiting: Gauge<'sale'>;
  private readonly active: Gauge<'sale'>;
  private readonly rate: Gauge<'sale' | 'kind'>;
  private readonly wait: Gauge<'sale'>;
  /**
   * Joins and polls since the last scrape, per sale: added to the counters
   * when they are read (collect), not on each request (a labelled inc hashes
   * its labels: about a microsecond on a path taken thousands of times a second).
   */
  private pending = new Map<string, { joins: number; token: number; redis: number }>();

  constructor(@Inject(MetricsRegistry) metrics: MetricsRegistry) {
    const registers = [metrics.registry];
    this.joins = new Counter({
      name: 'flash_room_joins_total',
      help: 'Joins of a waiting room answered by this API process',
      labelNames: ['sale'],
      registers,
      collect: () => this.flush(),
    });
    this.polls = new Counter({
      name: 'flash_room_polls_total',
      help: 'Polls of a waiting room by source: token (answered without Redis) or redis',
      labelNames: ['sale', 'source'],
      registers,
      collect: () => this.flush(),
    });
    this.admitted = new Counter({
      name: 'flash_room_admitted_total',
      help: 'Shoppers let in by this admitter',
      labelNames: ['sale'],
      registers,
    });
    this.lapsed = new Counter({
      name: 'flash_room_lapsed_total',
      help: 'Admissions not used within their claim window',
      labelNames: ['sale'],
      registers,
    });
    this.gone = new Counter({
      name: 'flash_room_gone_total',
      help: 'Waiters dropped after not polling for three refresh periods',
      labelNames: ['sale'],
      registers,
    });
    this.waiting = new Gauge({
      name: 'flash_room_waiting',
      help: 'Shoppers waiting in the queue (at the admitter’s last turn)',
      labelNames: ['sale'],
      registers,
    });
    this.active = new Gauge({
      name: 'flash_room_active',
      help: 'Shoppers admitted and not done (admission unused, or order not yet paid or cancelled)',
      labelNames: ['sale'],
      registers,
    });
    this.rate = new Gauge({
      name: 'flash_room_admit_rate',
      help: 'Admission rate per second: target (configured or auto) and measured (while shoppers waited)',
      labelNames: ['sale', 'kind'],
      registers,
    });
    this.wait = new Gauge({
      name: 'flash_room_estimated_wait_seconds',
      help: 'Estimated wait of the last in line (queue length / measured rate)',
      labelNames: ['sale'],
      registers,
    });
  }

  joined(saleId: string): void {
    this.countOf(saleId).joins++;
  }

  polled(saleId: string, source: 'token' | 'redis'): void {
    this.countOf(saleId)[source]++;
  }

  private countOf(saleId: string): { joins: number; token: number; redis: number } {
    let n = this.pending.get(saleId);
    if (!n) this.pending.set(saleId, (n = { joins: 0, token: 0, redis: 0 }));
    return n;
  }

  /** The joins and polls counted since the last read, into the counters. */
  private flush(): void {
    const pending = this.pending;
    if (pending.size === 0) return;
    this.pending = new Map();
    for (const [sale, n] of pending) {
      if (n.joins) this.joins.inc({ sale }, n.joins);
      if (n.token) this.polls.inc({ sale, source: 'token' }, n.token);
      if (n.redis) this.polls.inc({ sale, source: 'redis' }, n.redis);
    }
  }

  turn(saleId: string, target: number, t: TickResult): void {
    if (t.status === 'LEASED') return;
    if (t.admitted) this.admitted.inc({ sale: saleId }, t.admitted);
    if (t.lapsed) this.lapsed.inc({ sale: saleId }, t.lapsed);
    if (t.gone) this.gone.inc({ sale: saleId }, t.gone);
    this.waiting.set({ sale: saleId }, t.waiting);
    this.active.set({ sale: saleId }, t.active + t.buying);
    this.rate.set({ sale: saleId, kind: 'target' }, target);
    this.rate.set({ sale: saleId, kind: 'measured' }, t.measuredRate);
    const rate = t.measuredRate > 0 ? t.measuredRate : target;
    this.wait.set({ sale: saleId }, rate > 0 ? t.waiting / rate : 0);
  }

  /** The room's sale is over: its series go. */
  forget(saleId: string): void {
    for (const g of [this.waiting, this.active, this.wait]) g.remove({ sale: saleId });
    this.rate.remove({ sale: saleId, kind: 'target' });
    this.rate.remove({ sale: saleId, kind: 'measured' });
  }
}
