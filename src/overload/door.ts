import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { refusedConnection } from '../infra/http/door.js';
import { requestIdOf } from '../infra/http/hardening.js';
import { SECURITY_HEADERS } from '../infra/http/security-headers.js';
import { AdaptiveLimiter, type LimiterSettings } from './adaptive-limiter.js';
import { PriorityTurns } from './priority-turns.js';
import { nearHead } from './head-poll.js';
import { classify, isStream, roomRequest } from './route-class.js';

export interface DoorSettings extends LimiterSettings {
  /** Retry-After of a shed request: this many seconds plus a random 0..this many (jitter). */
  retryAfterSeconds: number;
  /** Purchases first: the longest turn of the lower classes' lines (ms); 0 = every request at once. */
  turnMs: number;
  /** A shed answer is sent after a random half to all of this many ms (0: at once). */
  shedHoldMs: number;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** How often the event loop's delay is sampled (ms). */
const PROBE_MS = 10;
export const OVERLOADED_BODY = JSON.stringify({
  statusCode: 503,
  code: 'OVERLOADED',
  message: 'The service is overloaded; nothing was done. Try again shortly',
});
const BODY_LENGTH = String(Buffer.byteLength(OVERLOADED_BODY));
const FIXED_HEADERS = [
  'content-type',
  'application/json; charset=utf-8',
  'content-length',
  BODY_LENGTH,
  'cache-control',
  'no-store',
  ...SECURITY_HEADERS.flat(),
];

/**
 * Overload control at the door of one API copy: a listener on Node's HTTP
 * server that runs before Fastify and Nest see the request. It classifies the
 * request from its method and path, asks the limiter, and either hands it on
 * (counting it in flight until its answer is sent; purchases at once, the
 * lower classes in turns after the loop's I/O: PriorityTurns) or answers 503 OVERLOADED
 * with Retry-After itself, with a fixed body: no routing, no body read, no
 * hook, nothing done. Every interval it feeds the limiter what the event loop
 * measured (least delay of a 10 ms probe, utilization).
 */
export class OverloadDoor {
  readonly limiter: AdaptiveLimiter;
  /** The last interval's signals (for metrics and the doors' state). */
  loopDelayMs = 0;
  elu = 0;
  private probe?: NodeJS.Timeout;
  private ticker?: NodeJS.Timeout;
  private lastProbe = 0;
  private lastTick = 0;
  private minLag = Infinity;
  private eluMark?: EventLoopUtilization;
  /** Waiting-room polls shed since start (the doors' state tells the room's admitter: room/shed-grace.ts). */
  shedPolls = 0;
  /** Waiting-room polls taken as purchases since start (shed otherwise; their Queue-Token says near the head). */
  headPolls = 0;
  /** The line of the classes below buy; undefined: every request at once. */
  readonly turns?: PriorityTurns;

  constructor(readonly settings: DoorSettings) {
    this.limiter = new AdaptiveLimiter(settings);
    if (settings.turnMs > 0) this.turns = new PriorityTurns(settings.turnMs);
  }

  /** Starts sampling the event loop and the control intervals (timers that do not hold the process). */
  start(): void {
    if (this.ticker) return;
    this.lastProbe = this.lastTick = performance.now();
    this.eluMark = performance.eventLoopUtilization();
    this.probe = setInterval(() => {
      const now = performance.now();
      this.sample(now - this.lastProbe - PROBE_MS);
      this.lastProbe = now;
    }, PROBE_MS).unref();
    this.ticker = setInterval(() => this.tick(), this.settings.intervalMs).unref();
  }

  stop(): void {
    clearInterval(this.probe);
    clearInterval(this.ticker);
    this.probe = this.ticker = undefined;
  }

  /** Fastify's serverFactory: the HTTP server with the door in front of Fastify's handler. */
  createServer(handler: Handler, options: FastifyServerSettings): Server {
    const server = createServer(options.http ?? {}, this.guard(handler));
    // As Fastify sets its own server (fastify/lib/server.js).
    server.keepAliveTimeout = options.keepAliveTimeout;
    server.requestTimeout = options.requestTimeout;
    server.setTimeout(options.connectionTimeout);
    if (options.maxRequestsPerSocket > 0) server.maxRequestsPerSocket = options.maxRequestsPerSocket;
    this.start();
    server.on('close', () => this.stop());
    return server;
  }

  /** The request listener: `next` runs only for admitted requests. */
  guard(next: Handler): Handler {
    return (req, res) => {
      // A request that arrived after the connection was refused (408/400) is not run.
      if (refusedConnection(req)) return;
      const route = classify(req.method, req.url);
      if (route === 'exempt') return next(req, res);
      const room = roomRequest(req.method, req.url);
      if (room === 'join') {
        // Never shed: a join takes a place (a shed post-start join would lose its order). In the line, in arrival order.
        this.limiter.pass(route);
        return this.later(req, res, next);
      }
      const counted = !isStream(req.url);
      let cls = route;
      let reason = this.limiter.admit(cls, counted);
      // A poll from the head (or past it: admitted) is shed no sooner than purchases, so its shopper learns
      // the admission. Its token is read only when it would be shed (2–3 µs: a served poll pays nothing).
      if (reason !== undefined && room === 'poll' && nearHead(req.headers['queue-token'], Date.now())) {
        this.limiter.retract(cls, reason);
        this.headPolls++;
        cls = 'buy';
        reason = this.limiter.admit(cls, counted, true);
      }
      if (reason !== undefined) {
        // Counted for the waiting room's admitter: a shed poll is not the waiter's silence (room/shed-grace.ts).
        if (room === 'poll') this.shedPolls++;
        return this.refuse(req, res);
      }
      if (counted) {
        const started = performance.now();
        res.once('close', () => this.limiter.done(cls, performance.now() - started));
      }
      if (cls === 'buy') return next(req, res);
      this.later(req, res, next);
    };
  }

  /** Below buy: after the loop's I/O, in arrival order (a client gone by then is not served). */
  private later(req: IncomingMessage, res: ServerResponse, next: Handler): void {
    if (!this.turns) return next(req, res);
    this.turns.defer(() => {
      if (!req.socket.destroyed) next(req, res);
    });
  }

  /** One control step now (the timer calls it; tests may too). */
  tick(): void {
    const now = performance.now();
    // A loop so busy that no probe ran in the interval: the tick's own delay tells.
    this.sample(now - this.lastTick - this.settings.intervalMs);
    this.lastTick = now;
    const elu = performance.eventLoopUtilization(this.eluMark);
    this.eluMark = performance.eventLoopUtilization();
    this.loopDelayMs = Math.max(0, this.minLag);
    this.elu = elu.utilization;
    this.minLag = Infinity;
    this.limiter.tick({ loopDelayMs: this.loopDelayMs, elu: this.elu });
  }

  private sample(lagMs: number): void {
    if (lagMs < this.minLag) this.minLag = lagMs;
  }

  /**
   * Answers a shed request, after the hold: the client's connection is busy
   * meanwhile, so a client that ignores Retry-After sends its next request on
   * it no sooner (and one that opens new connections meets the connection
   * cap). A refusal costs a timer, not a tight loop of parse-and-refuse.
   */
  private refuse(req: IncomingMessage, res: ServerResponse): void {
    const hold = this.settings.shedHoldMs;
    if (hold <= 0) return this.answerShed(req, res);
    setTimeout(
      () => {
        if (!req.socket.destroyed) this.answerShed(req, res);
      },
      hold / 2 + Math.random() * (hold / 2),
    );
  }

  private answerShed(req: IncomingMessage, res: ServerResponse): void {
    const base = this.settings.retryAfterSeconds;
    const retryAfter = base + Math.floor(Math.random() * (base + 1));
    res.writeHead(503, [...FIXED_HEADERS, 'retry-after', String(retryAfter), 'x-request-id', requestIdOf(req)]);
    res.end(OVERLOADED_BODY);
  }
}

/** The options Fastify hands its serverFactory (the ones it would set on its own server). */
export interface FastifyServerSettings {
  http?: object;
  keepAliveTimeout: number;
  requestTimeout: number;
  connectionTimeout: number;
  maxRequestsPerSocket: number;
}
