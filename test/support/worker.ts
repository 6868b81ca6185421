import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import type { AppConfig } from '../../src/infra/config/app-config.js';
import { closeWithin } from '../../src/infra/lifecycle.js';
import { JobWorkers } from '../../src/infra/queues/job-workers.js';
import { WorkerModule } from '../../src/worker.module.js';

/**
 * A worker application context in this process, consuming config.WORKER_QUEUES.
 * Its close() is bounded as a worker's SIGTERM is (closeWithin,
 * SHUTDOWN_TIMEOUT_MS): a close that hangs fails the test with the queues
 * and jobs it still waits for, instead of running into jest's timeout.
 */
export async function startWorker(config: AppConfig): Promise<INestApplicationContext> {
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config), { logger: ['error'] });
  await app.init();
  const workers = app.get(JobWorkers);
  const close = app.close.bind(app);
  app.close = () =>
    closeWithin(close(), config.SHUTDOWN_TIMEOUT_MS, () => workers.stillClosing()).catch((err: unknown) => {
      throw new Error(`worker close: ${err instanceof Error ? err.message : String(err)}`);
    });
  return app;
}
