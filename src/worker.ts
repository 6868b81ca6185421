import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger as PinoLogger } from 'nestjs-pino';
import { ConfigError, loadConfig } from './infra/config/app-config.js';
import { loadDotEnv } from './infra/config/dotenv.js';
import { logBootFailure, logProcessFaults, rootLogger } from './infra/logging/logging.js';
import { applyPriority, exitOnSignals } from './infra/lifecycle.js';
import { parseWorkerQueues } from './infra/queues/queues.js';
import { Readiness } from './ops/readiness.js';
import { WorkerModule } from './worker.module.js';

async function bootstrap(): Promise<void> {
  loadDotEnv();
  const config = loadConfig();
  logProcessFaults(rootLogger(config));
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config), { bufferLogs: true });
  app.useLogger(app.get(PinoLogger));
  const logger = new Logger('Worker');
  // Not ready from the signal on (its probe answers 503 while active jobs finish).
  exitOnSignals(app, logger, config.SHUTDOWN_TIMEOUT_MS, () => app.get(Readiness).drain(0));
  applyPriority(config.PROCESS_PRIORITY, logger);
  await app.init();
  logger.log(`worker ready, consuming: ${parseWorkerQueues(config.WORKER_QUEUES).join(', ')}`);
}

bootstrap().catch((err: unknown) => {
  logBootFailure(err, err instanceof ConfigError);
  process.exit(1);
});
