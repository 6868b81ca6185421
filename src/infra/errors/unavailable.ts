/** Kinds of driver-adapter errors (Prisma's adapter-pg) that mean Postgres was out of reach. */
const PG_OUT_OF_REACH = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);
/** Prisma codes for the same: can't reach, timed out, closed, pool exhausted. */
const PRISMA_OUT_OF_REACH = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);
/**
 * SQLSTATEs of a Postgres that is going away or not there yet: connection
 * exceptions (class 08) and operator intervention (57P01 admin shutdown, 57P02
 * crash shutdown, 57P03 cannot connect now: starting or shutting down).
 */
const PG_GOING_AWAY = /^(08...|57P0[123])$/;
/** node-postgres's own errors of a connection that died under a query, or before the next one of a transaction. */
const PG_CONNECTION_ENDED = /^(Connection terminated|Client has encountered a connection error and is not queryable)/;
/** ioredis errors of a connection that is down or did not answer in time. */
const REDIS_OUT_OF_REACH =
  /^(Connection is closed\.|Stream isn't writeable|Command timed out|Command aborted due to connection close|connect (ECONNREFUSED|ETIMEDOUT)|read ECONNRESET|write EPIPE)/;

/**
 * An error that says a store (Redis or Postgres) could not be reached or did
 * not answer in time: nothing the request did wrong, and it may pass. Such an
 * error answers 503 UNAVAILABLE with Retry-After instead of 500.
 */
export function isStoreUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'MaxRetriesPerRequestError' || REDIS_OUT_OF_REACH.test(err.message)) return true;
  const e = err as { code?: unknown; meta?: { driverAdapterError?: { cause?: { kind?: unknown; code?: unknown } } } };
  if (typeof e.code === 'string' && (PRISMA_OUT_OF_REACH.has(e.code) || PG_GOING_AWAY.test(e.code))) return true;
  if (PG_CONNECTION_ENDED.test(err.message)) return true;
  const cause = e.meta?.driverAdapterError?.cause;
  if (typeof cause?.kind === 'string' && PG_OUT_OF_REACH.has(cause.kind)) return true;
  return cause?.kind === 'postgres' && typeof cause.code === 'string' && PG_GOING_AWAY.test(cause.code);
}
