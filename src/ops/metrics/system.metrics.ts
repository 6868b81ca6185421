import { Inject, Injectable } from '@nestjs/common';
import { LiveSalesService, type LiveSale } from '../live/live-sales.service.js';
import { OutboxBacklog } from '../../events/outbox-backlog.js';
import { AdminNotificationsService } from '../../notifications/admin-notifications.service.js';
import { MetricsRegistry, scrapedGauge } from '../../infra/metrics/metrics.registry.js';

type Figure = (sale: LiveSale) => [labels: Record<string, string>, value: number][];

/** The live view's figures as gauges labelled by sale (sales that left the view drop out). */
const SALE_FIGURES: [name: string, help: string, labelNames: string[], figure: Figure][] = [
  ['flash_sale_stock', 'Units on sale', ['sale'], (s) => [[{ sale: s.id }, s.stock]]],
  ['flash_sale_remaining', 'Units the gate can still admit', ['sale'], (s) => [[{ sale: s.id }, s.remaining]]],
  [
    'flash_sale_admitted',
    'Purchases admitted by the gate, all API copies (a counter kept in Redis)',
    ['sale'],
    (s) => [[{ sale: s.id }, s.admitted]],
  ],
  [
    'flash_sale_backlog',
    'Admitted tickets not yet persisted as orders',
    ['sale'],
    (s) => [[{ sale: s.id }, s.backlog]],
  ],
  [
    'flash_sale_refusals',
    'Purchase refusals by sale and code, all API copies (counters kept in Redis)',
    ['sale', 'code'],
    (s) => Object.entries(s.refusals).map(([code, n]) => [{ sale: s.id, code }, n]),
  ],
  [
    'flash_sale_orders',
    'Orders by sale and status (QUEUED = admitted tickets not yet persisted)',
    ['sale', 'status'],
    (s) => Object.entries(s.ordersByStatus).map(([status, n]) => [{ sale: s.id, status }, n]),
  ],
  [
    'flash_sale_info',
    'Always 1: the name and status of each watched sale, to label the other sale figures with',
    ['sale', 'name', 'status'],
    (s) => [[{ sale: s.id, name: s.name, status: s.status }, 1]],
  ],
];

/**
 * Figures of the whole system read from Postgres and Redis when Prometheus
 * scrapes an API copy: the outbox lag, notifications by channel and status,
 * and per watched sale (open, starting soon, just ended) the same figures
 * as the live view. Every API copy reports the same values: aggregate with
 * max() across copies.
 */
@Injectable()
export class SystemMetrics {
  constructor(
    @Inject(MetricsRegistry) metrics: MetricsRegistry,
    @Inject(OutboxBacklog) backlog: OutboxBacklog,
    @Inject(AdminNotificationsService) notifications: AdminNotificationsService,
    @Inject(LiveSalesService) live: LiveSalesService,
  ) {
    const registry = metrics.registry;
    const outbox = sharedFor(1000, () => backlog.read());
    scrapedGauge(
      { name: 'flash_outbox_unpublished_events', help: 'Outbox events committed but not yet relayed', registry },
      async (gauge) => gauge.set((await outbox()).unpublished),
    );
    scrapedGauge(
      {
        name: 'flash_outbox_lag_seconds',
        help: 'Age of the oldest outbox event not yet relayed (0 when the relay is caught up)',
        registry,
      },
      async (gauge) => gauge.set((await outbox()).oldestSeconds),
    );
    scrapedGauge(
      {
        name: 'flash_notifications',
        help: 'Notification records by channel (EMAIL, SMS) and status (QUEUED, SENDING, SENT, FAILED)',
        labelNames: ['channel', 'status'],
        registry,
      },
      async (gauge) => {
        for (const { channel, status, n } of await notifications.counts()) gauge.set({ channel, status }, n);
      },
    );
    for (const [name, help, labelNames, figure] of SALE_FIGURES) {
      scrapedGauge({ name, help, labelNames, registry }, async (gauge) => {
        for (const sale of (await live.current()).sales) {
          for (const [labels, value] of figure(sale)) gauge.set(labels, value);
        }
      });
    }
  }
}

/** One call of `read` shared by every caller within `ms` (the gauges of one scrape). */
function sharedFor<T>(ms: number, read: () => Promise<T>): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | undefined;
  return () => {
    if (!last || Date.now() - last.at >= ms) {
      const value = read();
      last = { at: Date.now(), value };
      value.catch(() => (last = undefined));
    }
    return last.value;
  };
}
