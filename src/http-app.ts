import { NestFactory } from '@nestjs/core';
import { LogController, type FastifyReply, type FastifyRequest, type FastifyServerFactoryHandler } from 'fastify';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module.js';
import { OverloadConfig, sliceOf, type AppConfig } from './infra/config/app-config.js';
import { AllExceptionsFilter } from './infra/http/all-exceptions.filter.js';
import { hardenedFastifyOptions, hardenHttp } from './infra/http/hardening.js';
import { createValidationPipe } from './infra/http/validation.js';
import { rootLogger } from './infra/logging/logging.js';
import { setupOps } from './ops/ops.setup.js';
import { OverloadDoor, type FastifyServerSettings } from './overload/door.js';
import { doorSettings } from './overload/overload.module.js';
import { PollAtDoor } from './room/poll-at-door.js';

const PURCHASE_ROUTE = '/sales/:id/orders';
const ROUTINE_PURCHASE_STATUS = new Set([202, 409, 429, 503]);

/**
 * One log line per request, written when the answer is sent — except on the
 * purchase route during a spike, where a line per answer would cost more than
 * the answer: its routine answers (202, 409, 429, 503) are counted and one in
 * `sampleEvery` is logged in full; a summary line per second gives the counts.
 */
class RequestLog extends LogController {
  private counts = new Map<number, number>();
  private seen = 0;
  private timer?: NodeJS.Timeout;

  constructor(private readonly sampleEvery: number) {
    super();
  }

  override incomingRequest(): void {}

  override requestCompleted(_error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const status = reply.statusCode;
    if (
      request.method === 'POST' &&
      request.routeOptions.url === PURCHASE_ROUTE &&
      ROUTINE_PURCHASE_STATUS.has(status) &&
      this.sampleEvery > 1
    ) {
      this.counts.set(status, (this.counts.get(status) ?? 0) + 1);
      this.timer ??= setTimeout(() => this.summarize(request.server.log), 1000).unref();
      if (++this.seen % this.sampleEvery !== 0) return;
    }
    request.log.info(
      { method: request.method, url: request.url, status, ms: Math.round(reply.elapsedTime) },
      'request',
    );
  }

  private summarize(log: FastifyRequest['server']['log']): void {
    this.timer = undefined;
    const answers = Object.fromEntries([...this.counts].map(([status, n]) => [String(status), n]));
    this.counts = new Map();
    log.info({ route: `POST ${PURCHASE_ROUTE}`, answers, sampledOneIn: this.sampleEvery }, 'purchase answers in 1 s');
  }
}

/** Builds the API application (not yet listening). Tests use it as main.ts does. */
export async function createHttpApp(config: AppConfig): Promise<NestFastifyApplication> {
  // Overload control sits in front of Fastify, on Node's own server: a shed
  // request costs no routing, hook or body parsing (docs/overload.md).
  const door = new OverloadDoor(doorSettings(sliceOf(OverloadConfig, config)));
  // Behind the door and before Fastify: the waiting room's plain polls (set once the app exists).
  const late: { polls?: PollAtDoor } = {};
  const adapter = new FastifyAdapter({
    serverFactory: (handler: FastifyServerFactoryHandler, options: object) =>
      door.createServer(
        (req, res) => (late.polls ? late.polls.handle(req, res, handler) : handler(req, res)),
        options as FastifyServerSettings,
      ),
    // JSON lines through the process's one pino logger (buffered, redacted;
    // see infra/logging). It stays on with LOG_REQUESTS=false: the app's own
    // lines inside a request are written through the request's logger.
    loggerInstance: rootLogger(config),
    logController: config.LOG_REQUESTS
      ? new RequestLog(config.LOG_PURCHASE_SAMPLE)
      : new LogController({ disableRequestLogging: true }),
    bodyLimit: config.BODY_LIMIT_BYTES,
    ...hardenedFastifyOptions(config),
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, door), adapter, {
    bufferLogs: true,
    // Fastify's JSON parser only: Nest's would add a form parser (forms are 415 here).
    bodyParser: false,
  });
  app.useLogger(app.get(Logger));
  hardenHttp(app, config);
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new AllExceptionsFilter());
  await setupOps(app);
  late.polls = app.get(PollAtDoor);
  return app;
}
