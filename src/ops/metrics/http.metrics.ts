import type { FastifyInstance } from 'fastify';
import { Histogram, type Registry } from 'prom-client';

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * `flash_http_request_duration_seconds` by method, route template
 * (`/sales/:id/orders`, never the raw URL) and status, observed in an
 * onResponse hook: it runs after the answer left, also for answers given in
 * hooks (the sold-out shortcut) and for errors.
 */
export function observeHttp(fastify: FastifyInstance, registry: Registry): void {
  const histogram = new Histogram({
    name: 'flash_http_request_duration_seconds',
    help: 'HTTP requests answered by this API process: time in the server by method, route template and status',
    labelNames: ['method', 'route', 'status'],
    buckets: BUCKETS,
    registers: [registry],
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    histogram.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: reply.statusCode },
      reply.elapsedTime / 1000,
    );
    done();
  });
}
