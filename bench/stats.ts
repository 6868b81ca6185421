/** What Redis and Postgres did during a phase: commands, transactions, rows; a round-trip counting proxy. */
import type { Socket } from 'node:net';
import { Redis } from 'ioredis';
import pg from 'pg';
import { TcpProxy } from './tcp-proxy.js';

/** Calls per command (INFO commandstats). */
export async function redisCommandStats(url: string): Promise<Map<string, number>> {
  const redis = new Redis(url, { lazyConnect: true });
  try {
    await redis.connect();
    const info = await redis.info('commandstats');
    const calls = new Map<string, number>();
    for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(m[1]!, Number(m[2]));
    return calls;
  } finally {
    redis.disconnect();
  }
}

export function commandsBetween(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const delta = new Map<string, number>();
  for (const [cmd, n] of after) {
    const d = n - (before.get(cmd) ?? 0);
    if (d > 0) delta.set(cmd, d);
  }
  return new Map([...delta].sort((a, b) => b[1] - a[1]));
}

export interface PgCounters {
  transactions: number;
  inserted: number;
  updated: number;
  deleted: number;
  walBytes: number;
}

/** The database's own counters (pg_stat_database) and the server's WAL position. */
export async function pgCounters(url: string, database: string): Promise<PgCounters> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ x: string; i: string; u: string; d: string; wal: string }>(
      `SELECT xact_commit + xact_rollback AS x, tup_inserted AS i, tup_updated AS u, tup_deleted AS d,
              pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0') AS wal
       FROM pg_stat_database WHERE datname = $1`,
      [database],
    );
    const r = rows[0]!;
    return {
      transactions: Number(r.x),
      inserted: Number(r.i),
      updated: Number(r.u),
      deleted: Number(r.d),
      walBytes: Number(r.wal),
    };
  } finally {
    await client.end();
  }
}

export function pgBetween(before: PgCounters, after: PgCounters): PgCounters {
  return {
    transactions: after.transactions - before.transactions,
    inserted: after.inserted - before.inserted,
    updated: after.updated - before.updated,
    deleted: after.deleted - before.deleted,
    walBytes: after.walBytes - before.walBytes,
  };
}

/** A TCP proxy that counts round trips with `count` (called with each chunk a client sends, and on each answer). */
abstract class RoundTripProxy extends TcpProxy {
  roundTrips = 0;

  /** Round trips begun by this chunk a client sent (`state` is the connection's own). */
  protected abstract count(chunk: Buffer, state: Record<string, unknown>): number;
  /** The server answered on this connection. */
  protected answered(_state: Record<string, unknown>): void {}

  protected pipe(client: Socket, upstream: Socket): void {
    const state: Record<string, unknown> = {};
    client.on('data', (chunk: Buffer) => {
      this.roundTrips += this.count(chunk, state);
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      this.answered(state);
      client.write(chunk);
    });
  }
}

export class PgRoundTripCounter extends RoundTripProxy {
  protected count(chunk: Buffer, state: { buffer?: Buffer; started?: boolean }): number {
    let buffer = state.buffer ? Buffer.concat([state.buffer, chunk]) : chunk;
    let n = 0;
    // Startup and SSL request messages have no type byte: int32 length first.
    while (!state.started && buffer.length >= 8) {
      const length = buffer.readInt32BE(0);
      const code = buffer.readInt32BE(4);
      if (buffer.length < length) break;
      buffer = buffer.subarray(length);
      if (code !== 80877103) state.started = true; // 80877103: SSLRequest, the startup message follows
    }
    while (state.started && buffer.length >= 5) {
      const length = buffer.readInt32BE(1);
      if (buffer.length < length + 1) break;
      const type = String.fromCharCode(buffer[0]!);
      if (type === 'S' || type === 'Q') n++;
      buffer = buffer.subarray(length + 1);
    }
    state.buffer = buffer;
    return n;
  }
}

/**
 * In front of Redis: a round trip is what a client sends before it hears
 * back — the first chunk after an answer (or the first of the connection)
 * counts, the rest of a pipeline written in several chunks does not. A
 * pipeline of many commands is one round trip; blocking reads (BullMQ's
 * waits for jobs) count too. Used by `--round-trips` only.
 */
export class RedisRoundTripCounter extends RoundTripProxy {
  protected count(_chunk: Buffer, state: { waiting?: boolean }): number {
    if (state.waiting) return 0;
    state.waiting = true;
    return 1;
  }

  protected override answered(state: { waiting?: boolean }): void {
    state.waiting = false;
  }
}
