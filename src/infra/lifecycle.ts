import { setPriority } from 'node:os';
import type { INestApplicationContext, LoggerService } from '@nestjs/common';

/**
 * SIGTERM/SIGINT: close the app (an HTTP server stops accepting and finishes
 * in-flight requests; BullMQ workers finish their active jobs; connections
 * close through the modules' shutdown hooks) and exit 0. Nest's own
 * enableShutdownHooks() re-raises the signal after closing, which makes the
 * exit status 143 instead of 0, so the signals are handled here.
 * `beforeClose` runs first (the API stops being ready and waits for load
 * balancers to notice, see Readiness).
 */
export function exitOnSignals(
  app: INestApplicationContext,
  logger: LoggerService,
  timeoutMs: number,
  beforeClose: (signal: NodeJS.Signals) => Promise<void> = () => Promise.resolve(),
): void {
  let closing = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (closing) return;
    closing = true;
    logger.log(`${signal} received: finishing in-flight work`);
    const timer = setTimeout(() => {
      logger.error(`shutdown took longer than ${timeoutMs} ms: exiting anyway`);
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    beforeClose(signal)
      .then(() => app.close())
      .then(
        () => {
          logger.log('shut down cleanly');
          process.exit(0);
        },
        (err: unknown) => {
          logger.error(`shutdown failed: ${err instanceof Error ? err.message : String(err)}`);
          process.exit(1);
        },
      );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

/** PROCESS_PRIORITY: this process's nice value; a value the OS refuses is reported, not fatal. */
export function applyPriority(priority: number, logger: LoggerService): void {
  if (priority === 0) return;
  try {
    setPriority(priority);
    logger.log(`scheduling priority set to ${priority}`);
  } catch (err) {
    logger.warn(`scheduling priority ${priority} not set: ${err instanceof Error ? err.message : String(err)}`);
  }
}
