import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import type { AppConfig } from '../../src/infra/config/app-config.js';
import { WorkerModule } from '../../src/worker.module.js';

/** A worker application context in this process, consuming config.WORKER_QUEUES. */
export async function startWorker(config: AppConfig): Promise<INestApplicationContext> {
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config), { logger: ['error'] });
  await app.init();
  return app;
}
