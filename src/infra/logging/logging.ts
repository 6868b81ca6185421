import { RequestMethod, type DynamicModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { pino, type Logger, type LevelWithSilent } from 'pino';
import type { AppConfig } from '../config/app-config.js';
import { shuttingDown } from '../lifecycle.js';

/** ioredis's rejection of the commands pending on a connection it closes. */
const CONNECTION_CLOSED = 'Connection is closed.';

const LEVELS: Record<AppConfig['LOG_LEVEL'], LevelWithSilent> = {
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
};

/**
 * Credentials never reach a log line: the places they could sit in what is
 * logged (headers, bodies, top-level fields). Exact paths only: wildcard
 * paths (`*.token`) cost pino about 5 µs per request line, these 0.4 µs.
 */
export const REDACTED_PATHS = [
  'authorization',
  'cookie',
  'password',
  'token',
  'accessToken',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  'body.password',
  'body.token',
  'body.accessToken',
];

const loggers = new WeakMap<AppConfig, Logger>();

/**
 * The process's one pino logger: JSON lines to stdout through an
 * asynchronous buffer (one write per 4 KB instead of one per line, flushed
 * every second and on exit). Fastify's request logger and the application's
 * Nest logger (nestjs-pino) both write through it.
 */
export function rootLogger(config: AppConfig): Logger {
  let logger = loggers.get(config);
  if (!logger) {
    const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 });
    setInterval(() => destination.flush(), 1000).unref();
    logger = pino(
      { level: LEVELS[config.LOG_LEVEL], redact: { paths: REDACTED_PATHS, censor: '[redacted]' } },
      destination,
    );
    loggers.set(config, logger);
  }
  return logger;
}

/**
 * nestjs-pino over the root logger. In the API it reuses Fastify's request
 * logger (`useExisting`), so every line a request causes carries its `reqId`;
 * `forRoutes` is needed on platform-fastify 12 (the default route pattern
 * matches nothing there). With LOG_REQUEST_CONTEXT=false no route gets the
 * request context (no AsyncLocalStorage): app lines then go to the root logger.
 * The crowd's routes never get it (the purchase and the storefront reads pay
 * per request; their request lines carry the id all the same).
 */
export function loggingModule(config: AppConfig): DynamicModule {
  return LoggerModule.forRoot({
    pinoHttp: { logger: rootLogger(config) },
    useExisting: true,
    forRoutes: config.LOG_REQUEST_CONTEXT ? [{ path: '{*splat}', method: RequestMethod.ALL }] : [],
    exclude: [
      { path: 'sales/:id/orders', method: RequestMethod.POST },
      { path: 'sales', method: RequestMethod.GET },
      { path: 'sales/:id', method: RequestMethod.GET },
    ],
  });
}

/**
 * Faults of the process itself as JSON lines through its logger: an unhandled
 * promise rejection or an uncaught exception is logged (fatal, with its stack
 * as a field) and the process exits 1, as Node would have; Node's warnings
 * are logged instead of printed. The logger's buffer is flushed on exit.
 */
export function logProcessFaults(logger: Logger): void {
  const fatal =
    (what: string) =>
    (err: unknown): void => {
      logger.fatal({ err }, what);
      process.exit(1);
    };
  const rejected = fatal('unhandled promise rejection');
  process.on('unhandledRejection', (err: unknown) => {
    // Closing a Redis connection rejects the commands still pending on it, some
    // of them ioredis's own (a subscriber's re-subscribe after a reconnect) with
    // no one to catch them: expected while shutting down, not a fault.
    if (shuttingDown() && err instanceof Error && err.message === CONNECTION_CLOSED) {
      logger.warn(`a Redis command was still pending when its connection closed at shutdown`);
      return;
    }
    rejected(err);
  });
  process.on('uncaughtException', fatal('uncaught exception'));
  process.removeAllListeners('warning');
  process.on('warning', (warning) => logger.warn({ warning: warning.name }, warning.message));
}

/**
 * A process that could not start says why in one JSON line on stderr (a bad
 * setting: the message naming it; anything else: the error with its stack).
 */
export function logBootFailure(err: unknown, isConfigError: boolean): void {
  const logger = pino(pino.destination({ dest: 2, sync: true }));
  if (isConfigError && err instanceof Error) logger.fatal(err.message);
  else logger.fatal({ err }, 'start failed');
}
