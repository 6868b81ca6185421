import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConfigError, loadConfig } from './infra/config/app-config.js';
import { loadDotEnv } from './infra/config/dotenv.js';
import { applyPriority, exitOnSignals } from './infra/lifecycle.js';
import { parseWorkerQueues } from './infra/queues/queues.js';
import { logLevels } from './infra/config/log-levels.js';
import { WorkerModule } from './worker.module.js';

async function bootstrap(): Promise<void> {
  loadDotEnv();
  const config = loadConfig();
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config), {
    logger: logLevels(config.LOG_LEVEL),
  });
  const logger = new Logger('Worker');
  exitOnSignals(app, logger, config.SHUTDOWN_TIMEOUT_MS);
  applyPriority(config.PROCESS_PRIORITY, logger);
  await app.init();
  logger.log(`worker ready, consuming: ${parseWorkerQueues(config.WORKER_QUEUES).join(', ')}`);
  const heartbeat = config.WORKER_HEARTBEAT_FILE;
  if (heartbeat) {
    const beat = (): void => writeFileSync(heartbeat, String(Date.now()));
    beat();
    setInterval(beat, 5000).unref();
  }
}

bootstrap().catch((err: unknown) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
