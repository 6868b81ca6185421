import { setPriority } from 'node:os';
import type { INestApplicationContext, LoggerService } from '@nestjs/common';

/** A close that did not finish in time: what was still closing is in the message. */
export class ShutdownTimeout extends Error {}

/**
 * Waits for `closing` at most timeoutMs from now; past that, rejects with a
 * ShutdownTimeout naming what `stillOpen` reports (e.g. the queues whose
 * workers still wait for their active jobs). The one bound of a shutdown:
 * SIGTERM's (exitOnSignals, SHUTDOWN_TIMEOUT_MS) and the tests' workers'.
 */
export async function closeWithin(
  closing: Promise<unknown>,
  timeoutMs: number,
  stillOpen: () => readonly string[] = () => [],
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const open = stillOpen();
      reject(
        new ShutdownTimeout(
          `shutdown took longer than ${timeoutMs} ms${open.length ? ` (still closing: ${open.join(', ')})` : ''}`,
        ),
      );
    }, timeoutMs);
    timer.unref();
  });
  try {
    await Promise.race([closing, late]);
  } finally {
    clearTimeout(timer);
  }
}

let shutdownStarted = false;

/** Whether a SIGTERM/SIGINT shutdown has begun (exitOnSignals). */
export function shuttingDown(): boolean {
  return shutdownStarted;
}

/**
 * SIGTERM/SIGINT: close the app (an HTTP server stops accepting and finishes
 * in-flight requests; BullMQ workers finish their active jobs; connections
 * close through the modules' shutdown hooks) and exit 0; past timeoutMs
 * (SHUTDOWN_TIMEOUT_MS), log what was still closing and exit 1. Nest's own
 * enableShutdownHooks() re-raises the signal after closing, which makes the
 * exit status 143 instead of 0, so the signals are handled here.
 * `beforeClose` runs first (the API stops being ready and waits for load
 * balancers to notice, see Readiness); the bound counts from the signal.
 */
export function exitOnSignals(
  app: INestApplicationContext,
  logger: LoggerService,
  timeoutMs: number,
  beforeClose: (signal: NodeJS.Signals) => Promise<void> = () => Promise.resolve(),
  stillOpen: () => readonly string[] = () => [],
): void {
  let closing = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (closing) return;
    closing = true;
    shutdownStarted = true;
    logger.log(`${signal} received: finishing in-flight work`);
    closeWithin(
      beforeClose(signal).then(() => app.close()),
      timeoutMs,
      stillOpen,
    ).then(
      () => {
        logger.log('shut down cleanly');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error(
          err instanceof ShutdownTimeout
            ? `${err.message}: exiting anyway`
            : `shutdown failed: ${err instanceof Error ? err.message : String(err)}`,
        );
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
