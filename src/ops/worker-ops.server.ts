import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { HttpConfig, OpsConfig } from '../infra/config/app-config.js';
import { downStores, HealthProbes } from './health-probes.js';
import { MetricsRegistry } from '../infra/metrics/metrics.registry.js';
import { Readiness } from './readiness.js';

/**
 * A worker has no API port: this small listener on WORKER_OPS_PORT serves its
 * /metrics (METRICS_TOKEN applies), /health/live and /health/ready (503 when
 * Redis or Postgres does not answer, or once the worker is shutting down).
 * It closes last, so a probe sees "not ready" while jobs finish.
 */
@Injectable()
export class WorkerOpsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('WorkerOps');
  private server?: Server;

  constructor(
    @Inject(OpsConfig) private readonly config: OpsConfig,
    @Inject(HttpConfig) private readonly http: HttpConfig,
    @Inject(MetricsRegistry) private readonly metrics: MetricsRegistry,
    @Inject(HealthProbes) private readonly probes: HealthProbes,
    @Inject(Readiness) private readonly readiness: Readiness,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const port = this.config.WORKER_OPS_PORT;
    if (port === 0) return;
    const server = createServer((req, res) => {
      this.handle(req, res).catch(() =>
        send(res, 500, { statusCode: 500, code: 'INTERNAL_ERROR', message: 'Internal error' }),
      );
    });
    const bound = await new Promise<boolean>((resolve) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        // Jobs matter more than probes: the worker goes on without its listener (and its probes fail visibly).
        this.logger.error(
          `WORKER_OPS_PORT ${port} cannot be used (${err.code ?? err.message}): no /metrics or health probes ` +
            'for this worker; give each worker on a host its own port, or 0 for none',
        );
        resolve(false);
      });
      server.listen(port, this.http.HOST, () => resolve(true));
    });
    if (!bound) return;
    this.server = server;
    this.logger.log(`ops listener on port ${port}: /metrics, /health/live, /health/ready`);
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET')
      return send(res, 405, { statusCode: 405, code: 'METHOD_NOT_ALLOWED', message: 'Only GET' });
    if (path === '/metrics') {
      if (!this.metrics.mayScrape(req.headers.authorization)) {
        return send(res, 401, { statusCode: 401, code: 'UNAUTHORIZED', message: 'A bearer token is required' });
      }
      const body = await this.metrics.metrics();
      res.writeHead(200, { 'content-type': this.metrics.contentType, 'cache-control': 'no-store' }).end(body);
      return;
    }
    if (path === '/health/live') return send(res, 200, { status: 'ok' });
    if (path === '/health/ready') {
      if (this.readiness.isDraining) {
        return send(res, 503, { statusCode: 503, code: 'UNHEALTHY', message: 'shutting down', status: 'draining' });
      }
      const stores = await this.probes.stores();
      if (stores.postgres === 'up' && stores.redis === 'up') return send(res, 200, { status: 'ok', ...stores });
      const message = `${downStores(stores)} is down`;
      return send(res, 503, { statusCode: 503, code: 'UNHEALTHY', message, status: 'error', ...stores });
    }
    send(res, 404, { statusCode: 404, code: 'NOT_FOUND', message: 'Only /metrics, /health/live and /health/ready' });
  }
}

function send(res: ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}
