import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Histogram } from 'prom-client';
import { TokenVerifier } from '../auth/token-verifier.js';
import { HttpConfig, OpsConfig, RoomConfig } from '../infra/config/app-config.js';
import { overCap } from '../infra/http/door.js';
import { requestIdOf } from '../infra/http/hardening.js';
import { SECURITY_HEADERS } from '../infra/http/security-headers.js';
import { MetricsRegistry } from '../infra/metrics/metrics.registry.js';
import { queueViewJson } from './queue-view-json.js';
import { RoomService, type QueueView } from './room.service.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const POLL = /^\/sales\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/queue$/i;
/** The route template the HTTP histogram and the log name it by, as for the full route. */
const ROUTE = '/sales/:id/queue';

/**
 * The crowd's most frequent request, answered on Node's server before
 * Fastify and Nest see it: a waiting shopper's poll (`GET /sales/:id/queue`).
 * A room of 100,000 waiters is thousands of polls a second, and through the
 * full route each cost several times its own work (measured in bench:room:
 * docs/waiting-room.md). Only the plain case is taken here — a valid bearer
 * token, a sale this process has cached, no query string, no body, no Origin
 * (CORS) and no X-Forwarded-Proto (HSTS) — and answered with what the route would
 * answer (RoomService.placeIn, the same headers, the HTTP histogram); every
 * other request, and this one whenever the room cannot answer (Redis out of
 * reach, an error), goes on to the full route, which gives the documented
 * errors. Polls answered here are logged as a count per second.
 *
 * A plain join (`POST /sales/:id/queue`, no body) on a room without anti-bot
 * rules is taken the same way (RoomService.joinIn: idempotent, so a join the
 * door could not answer is simply made again by the route). A room with
 * anti-bot rules screens the join by the request's address and headers and
 * may spend a one-use proof: its joins always take the route.
 */
@Injectable()
export class PollAtDoor {
  private readonly logger = new Logger('Room');
  /** The answer's headers: the fixed ones, then content-length and x-request-id (values set per answer). */
  private readonly headers: string[];
  private histogram?: Histogram;
  private answered = { GET: 0, POST: 0 };
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(RoomService) private readonly room: RoomService,
    @Inject(TokenVerifier) private readonly tokens: TokenVerifier,
    @Inject(MetricsRegistry) private readonly metrics: MetricsRegistry,
    @Inject(RoomConfig) private readonly config: RoomConfig,
    @Inject(HttpConfig) http: HttpConfig,
    @Inject(OpsConfig) private readonly ops: OpsConfig,
  ) {
    this.headers = [
      'content-type',
      'application/json; charset=utf-8',
      ...SECURITY_HEADERS.flat(),
      // As the full route: with CORS configured, every answer varies by Origin.
      ...(http.CORS_ORIGINS.trim() ? ['vary', 'Origin'] : []),
      'content-length',
      '',
      'x-request-id',
      '',
    ];
  }

  /** The server's request listener in front of `next` (Fastify's). */
  handle(req: IncomingMessage, res: ServerResponse, next: Handler): void {
    const url = req.url ?? '';
    // Every request passes here: anything else (a purchase) leaves at the first, cheapest test.
    if (!url.endsWith('/queue')) return next(req, res);
    const joining = req.method === 'POST';
    if (joining ? !this.config.ROOM_JOIN_AT_DOOR : req.method !== 'GET' || !this.config.ROOM_POLL_AT_DOOR) {
      return next(req, res);
    }
    const saleId = POLL.exec(url)?.[1];
    const length = req.headers['content-length'];
    if (
      saleId === undefined ||
      req.headers.origin !== undefined ||
      req.headers['x-forwarded-proto'] !== undefined ||
      // A join with no body only (a poll with none at all): Fastify's body rules stay the route's.
      (length !== undefined && (!joining || length !== '0')) ||
      req.headers['transfer-encoding'] !== undefined ||
      'encrypted' in req.socket ||
      overCap(req)
    ) {
      return next(req, res);
    }
    // No valid token: the guard answers 401. A sale not cached: the route looks it up (and caches it).
    const user = this.tokens.userOf(req.headers.authorization);
    const sale = user ? this.room.cachedRoom(saleId) : null;
    // A room with anti-bot rules screens the join by the request's address and headers: the route's.
    if (!user || !sale || (joining && this.room.screens(sale))) return next(req, res);
    const started = performance.now();
    const queueToken = req.headers['queue-token'];
    let view: QueueView | Promise<QueueView>;
    try {
      // Without anti-bot rules nothing of the request but the shopper counts (no address, no header).
      view = joining
        ? this.room.joinIn(sale, user.id, { ip: '', headers: {} })
        : this.room.placeIn(sale, user.id, typeof queueToken === 'string' ? queueToken : undefined);
    } catch {
      return next(req, res);
    }
    if (view instanceof Promise) {
      view.then(
        (answer) => this.send(req, res, answer, started),
        () => next(req, res),
      );
    } else {
      this.send(req, res, view, started);
    }
  }

  private send(req: IncomingMessage, res: ServerResponse, view: QueueView, started: number): void {
    const body = queueViewJson(view);
    // One array for every answer (writeHead reads it at once): the last two values are this answer's.
    const headers = this.headers;
    headers[headers.length - 3] = String(Buffer.byteLength(body));
    headers[headers.length - 1] = requestIdOf(req);
    res.writeHead(200, headers);
    res.end(body);
    this.histogram ??= this.metrics.registry.getSingleMetric('flash_http_request_duration_seconds') as
      Histogram | undefined;
    const method = req.method === 'POST' ? 'POST' : 'GET';
    this.histogram?.observe({ method, route: ROUTE, status: 200 }, (performance.now() - started) / 1000);
    if (this.ops.LOG_REQUESTS) this.count(method);
  }

  /** One line a second with the polls and joins answered here (a line per request would cost more than it). */
  private count(method: 'GET' | 'POST'): void {
    this.answered[method]++;
    this.timer ??= setTimeout(() => {
      const { GET, POST } = this.answered;
      this.logger.log(`${ROUTE}: ${GET} polls (GET) and ${POST} joins (POST) answered at the door in 1 s`);
      this.answered = { GET: 0, POST: 0 };
      this.timer = undefined;
    }, 1000).unref();
  }
}
