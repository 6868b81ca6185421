import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { ConfigError, loadConfig } from './infra/config/app-config.js';
import { loadDotEnv } from './infra/config/dotenv.js';
import { logBootFailure, logProcessFaults, rootLogger } from './infra/logging/logging.js';
import { applyPriority, exitOnSignals } from './infra/lifecycle.js';
import { createHttpApp } from './http-app.js';
import { acceptMore } from './infra/http/accept-more.js';
import { Readiness } from './ops/readiness.js';

/** A deep accept backlog: a crowd opens thousands of connections at once. */
const BACKLOG = 4096;

async function bootstrap(): Promise<void> {
  loadDotEnv();
  const config = loadConfig();
  logProcessFaults(rootLogger(config));
  const app = await createHttpApp(config);
  const logger = new Logger('API');
  // SIGTERM (an orchestrator): not ready first, for SHUTDOWN_DRAIN_MS; SIGINT (Ctrl-C): at once.
  exitOnSignals(app, logger, config.SHUTDOWN_TIMEOUT_MS, (signal) =>
    app.get(Readiness).drain(signal === 'SIGTERM' ? config.SHUTDOWN_DRAIN_MS : 0),
  );
  applyPriority(config.PROCESS_PRIORITY, logger);
  await app.listen({ port: config.PORT, host: config.HOST, backlog: BACKLOG });
  // More than one new connection per turn of the event loop (a busy API would accept a few dozen a second).
  await acceptMore(app.getHttpServer(), config.ACCEPT_PER_TURN, BACKLOG).catch((err: unknown) =>
    logger.warn(`accepting one connection per turn: ${String(err)}`),
  );
  logger.log(`API listening on ${await app.getUrl()}`);
}

bootstrap().catch((err: unknown) => {
  logBootFailure(err, err instanceof ConfigError);
  process.exit(1);
});
