import { Inject, Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import { MetricsRegistry } from '../infra/metrics/metrics.registry.js';

/** Decisions of more distinct sales than this (per process) are counted under sale="other". */
export const MAX_SALE_LABELS = 500;

interface Tally {
  /** Decisions counted on the request path. */
  n: number;
  /** Of those, already handed to the Prometheus counter. */
  published: number;
}

interface SaleTallies {
  label: string;
  byCode: Map<string, Tally>;
}

/**
 * Admission outcomes by sale and code (`flash_gate_decisions_total`): OK,
 * SOLD_OUT, LIMIT_EXCEEDED, BUSY, … — the gate's answers and the refusals the
 * sold-out shortcut gives without Redis, counted the same way.
 *
 * Called on every purchase request, so a call only bumps a number found
 * through two map lookups (no label hashing, no allocation once the sale and
 * code were seen); the Prometheus counter catches up when it is scraped.
 */
@Injectable()
export class GateMetrics {
  private readonly sales = new Map<string, SaleTallies>();
  private readonly other: SaleTallies = { label: 'other', byCode: new Map() };

  constructor(@Inject(MetricsRegistry) metrics: MetricsRegistry) {
    const all = (): SaleTallies[] => [...this.sales.values(), this.other];
    new Counter({
      name: 'flash_gate_decisions_total',
      help: 'Purchase decisions of this API process by sale and code (OK = admitted)',
      labelNames: ['sale', 'code'],
      registers: [metrics.registry],
      collect() {
        for (const { label, byCode } of all()) {
          for (const [code, t] of byCode) {
            if (t.n === t.published) continue;
            this.inc({ sale: label, code }, t.n - t.published);
            t.published = t.n;
          }
        }
      },
    });
  }

  /** One purchase decision: `code` is the answer (OK, SOLD_OUT, …) given for sale `saleId`. */
  gateDecision(saleId: string, code: string): void {
    const sale = this.sales.get(saleId) ?? this.addSale(saleId);
    const tally = sale.byCode.get(code);
    if (tally !== undefined) tally.n++;
    else sale.byCode.set(code, { n: 1, published: 0 });
  }

  private addSale(saleId: string): SaleTallies {
    // Bounded: ids past the limit are not kept (a flood of made-up ids cannot grow the map).
    if (this.sales.size >= MAX_SALE_LABELS) return this.other;
    const sale = { label: saleId, byCode: new Map<string, Tally>() };
    this.sales.set(saleId, sale);
    return sale;
  }
}
