import { Inject, Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import { MetricsRegistry } from '../../infra/metrics/metrics.registry.js';

/**
 * Payments of this API process that found their order claimed by another
 * attempt under way (a double click, a client's retry) and waited for its
 * outcome instead of charging (`flash_payment_waits_total`).
 */
@Injectable()
export class PaymentMetrics {
  private readonly waits: Counter;

  constructor(@Inject(MetricsRegistry) metrics: MetricsRegistry) {
    this.waits = new Counter({
      name: 'flash_payment_waits_total',
      help: 'Payments that waited for another attempt of the same order instead of charging',
      registers: [metrics.registry],
    });
  }

  /** A payment started waiting for the attempt that holds its order (counted once per payment). */
  waited(): void {
    this.waits.inc();
  }
}
