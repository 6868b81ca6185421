import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ALL_QUEUES } from '../infra/queues/queues.js';
import { QueueService } from '../infra/queues/queues.module.js';
import { AdminAccess } from './admin/admin-access.js';
import { registerQueueBoard } from './admin/queue-board.js';
import { StaticPages } from './admin/static-pages.js';
import { LiveSalesService } from './live/live-sales.service.js';
import { registerLiveView } from './live/live.routes.js';
import { observeHttp } from './metrics/http.metrics.js';
import { MetricsRegistry } from '../infra/metrics/metrics.registry.js';
import { setupOpenApi } from './openapi/openapi.js';
import { registerShopPage } from './shop/shop.routes.js';

/**
 * The API's operations surface, outside Nest's routing: the HTTP histogram
 * hook, GET /metrics, the sign-in script of the admin pages, the queue
 * dashboard, the live view, the shopper's page (/shop/) and the OpenAPI document. Called by createHttpApp
 * before the app listens.
 */
export async function setupOps(app: NestFastifyApplication): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  const metrics = app.get(MetricsRegistry);
  const access = app.get(AdminAccess);
  const pages = app.get(StaticPages);
  const queues = app.get(QueueService);
  const live = app.get(LiveSalesService);
  observeHttp(fastify, metrics.registry);
  // One plugin, loaded when the app starts (with Nest's routes).
  void fastify.register(async (ops) => {
    ops.get('/metrics', async (request, reply) => {
      void reply.header('cache-control', 'no-store');
      if (!metrics.mayScrape(request.headers.authorization)) {
        return reply.status(401).send({ statusCode: 401, code: 'UNAUTHORIZED', message: 'A bearer token is required' });
      }
      try {
        return reply.type(metrics.contentType).send(await metrics.metrics());
      } catch {
        return reply.status(500).send({ statusCode: 500, code: 'INTERNAL_ERROR', message: 'Internal error' });
      }
    });
    // Public: the sign-in page that admin-only pages answer 401 with needs them.
    for (const asset of ['login.js', 'admin.css']) {
      ops.get(`/admin/${asset}`, (_request, reply) =>
        reply.type(pages.type(asset)).header('cache-control', 'no-store').send(pages.get(asset)),
      );
    }
    await registerQueueBoard(
      ops,
      ALL_QUEUES.map((name) => queues.queue(name)),
      access.hook,
    );
    await registerLiveView(ops, access.hook, pages, live);
    await registerShopPage(ops);
  });
  await setupOpenApi(app);
}
