import { Inject, Injectable } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { MetricsRegistry } from '../infra/metrics/metrics.registry.js';
import { OverloadDoor } from './door.js';
import { SHEDDABLE } from './route-class.js';

/**
 * The door's figures, read from the limiter at scrape time (the door itself
 * only adds to plain numbers: a shed request touches no metric object).
 */
@Injectable()
export class OverloadMetrics {
  constructor(@Inject(MetricsRegistry) metrics: MetricsRegistry, @Inject(OverloadDoor) door: OverloadDoor) {
    const registers = [metrics.registry];
    const limiter = door.limiter;
    const gauge = (name: string, help: string, read: () => number): void => {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    };
    gauge('flash_overload_limit', 'Requests this API copy lets be in flight at once (adaptive)', () => limiter.limit);
    gauge('flash_overload_in_flight', 'Requests in flight in this API copy (streams excepted)', () => limiter.inFlight);
    gauge(
      'flash_overload_pressure',
      'Shedding pressure 0..2: browse shed by min(p, 1), track by min(max(p - 1, 0), 1), each only while a class above it has demand',
      () => limiter.pressure,
    );
    gauge(
      'flash_overload_waiting_turn',
      'Requests below the buy class waiting for their turn at the door (purchases first, OVERLOAD_TURN_MS)',
      () => door.turns?.waiting ?? 0,
    );
    gauge('flash_overload_overloaded', '1 when the last control interval found a standing queue', () =>
      limiter.overloaded ? 1 : 0,
    );
    gauge(
      'flash_overload_loop_delay_seconds',
      'Least event-loop delay over the last control interval (the queueing delay)',
      () => door.loopDelayMs / 1000,
    );
    gauge(
      'flash_overload_event_loop_utilization',
      'Event-loop utilization over the last control interval',
      () => door.elu,
    );
    gauge(
      'flash_overload_latency_min_seconds',
      'Least time in the API of the requests finished in the last interval',
      () => limiter.latency.minMs / 1000,
    );
    gauge(
      'flash_overload_latency_sample_seconds',
      'Mean time in the API of the requests finished in the last interval',
      () => limiter.latency.meanMs / 1000,
    );
    gauge(
      'flash_overload_purchase_p99_seconds',
      'p99 time in the API of the purchases finished in the last interval',
      () => limiter.latency.buyP99Ms / 1000,
    );
    new Counter({
      name: 'flash_overload_shed_total',
      help: 'Requests shed at the door (503 OVERLOADED) by class and reason (pressure: the class is shed; limit: too many in flight)',
      labelNames: ['class', 'reason'],
      registers,
      collect() {
        this.reset();
        for (const cls of SHEDDABLE) {
          for (const [reason, n] of Object.entries(limiter.shed[cls])) this.inc({ class: cls, reason }, n);
        }
      },
    });
    new Counter({
      name: 'flash_overload_admitted_total',
      help: 'Requests let through the door by class (exempt ones not counted)',
      labelNames: ['class'],
      registers,
      collect() {
        this.reset();
        for (const cls of SHEDDABLE) this.inc({ class: cls }, limiter.admitted[cls]);
      },
    });
  }
}
