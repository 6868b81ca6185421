/**
 * Helpers of the benches: processes with their RSS and CPU from /proc, a
 * fresh database, the production environment. What the tests already have
 * (free ports, SQL, users with tokens, database URLs) comes from test/support.
 * Everything runs on this machine's Postgres and Redis (from .env /
 * DATABASE_URL / REDIS_URL, as the app reads them), under its own names.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { query } from '../test/support/buy.js';
import { databaseUrl as databaseUrlOn } from '../test/support/env.js';
import { createUsersSignedWith } from '../test/support/users.js';

export { freePort } from '../test/support/processes.js';
export { query } from '../test/support/buy.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');
if (existsSync(path.join(ROOT, '.env'))) process.loadEnvFile(path.join(ROOT, '.env'));
export const BASE_DB = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/flash_sale';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** The API's V8 flags in `npm start`. */
export const API_NODE_FLAGS = ['--max-old-space-size=256', '--max-semi-space-size=8'];
/** A worker's V8 flags in `npm run start:worker` (a heap that settles: the 10-minute soak kept RSS within 1 %). */
export const WORKER_NODE_FLAGS = ['--max-old-space-size=256', '--max-semi-space-size=16'];

/**
 * The environment of the built API and worker in a bench: production
 * settings, one request log line per request, listening on 127.0.0.1:`port`,
 * the bench's own database, key prefix and queue prefix; `extra` on top.
 */
export function productionEnv(
  bench: { db: string; secret: string; prefix: string; queuePrefix: string; port: number },
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    NODE_ENV: 'production',
    DATABASE_URL: bench.db,
    REDIS_URL,
    JWT_SECRET: bench.secret,
    REDIS_KEY_PREFIX: bench.prefix,
    QUEUE_PREFIX: bench.queuePrefix,
    PORT: String(bench.port),
    HOST: '127.0.0.1',
    LOG_REQUESTS: 'true',
    ...extra,
  };
}

/** A database of the bench's Postgres server (the one DATABASE_URL names). */
export function databaseUrl(name: string): string {
  return databaseUrlOn(name, BASE_DB);
}

/**
 * Drops and creates the database, then applies the migrations with the
 * build's dist/migrate.js (`root`: another checkout, for before/after figures;
 * `server`: a URL of another Postgres server than DATABASE_URL's).
 */
export async function freshDatabase(
  name: string,
  {
    root = ROOT,
    stdio = 'ignore',
    server = BASE_DB,
  }: { root?: string; stdio?: 'ignore' | 'inherit'; server?: string } = {},
): Promise<string> {
  await query(databaseUrlOn('postgres', server), `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await query(databaseUrlOn('postgres', server), `CREATE DATABASE "${name}"`);
  const url = databaseUrlOn(name, server);
  const migrate = spawn(process.execPath, [path.join(root, 'dist/migrate.js'), 'deploy'], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: url },
    stdio,
  });
  if ((await new Promise((r) => migrate.once('exit', r))) !== 0) throw new Error('migration failed');
  return url;
}

/** Deletes the keys under these prefixes (`<prefix>:*`). */
export async function clearRedis(prefixes: string[]): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    for (const prefix of prefixes) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 5000);
        cursor = next;
        if (keys.length) await redis.del(...keys);
      } while (cursor !== '0');
    }
  } finally {
    redis.disconnect();
  }
}

export interface Proc {
  child: ChildProcess;
  pid: number;
  logFile: string;
  /** Resident set size now, in bytes (0 once gone). */
  rss(): number;
  /** CPU seconds used so far, all threads (0 once gone). */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

/** A node process with its output in a log file under tmpdir; resolves once the output matches `ready`. */
export async function startNode(
  name: string,
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
  { cpu }: { cpu?: number } = {},
): Promise<Proc> {
  const logFile = path.join(tmpdir(), `flash-sale-${name}.log`);
  const fd = openSync(logFile, 'w');
  const [command, argv] =
    cpu === undefined ? [process.execPath, args] : ['taskset', ['-c', String(cpu), process.execPath, ...args]];
  const child = spawn(command, argv, {
    cwd: tmpdir(),
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', fd, fd],
  });
  const deadline = Date.now() + 30_000;
  while (!ready.test(readFileSync(logFile, 'utf8'))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`${name} did not start:\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const pid = child.pid!;
  return {
    child,
    pid,
    logFile,
    // 0 once the process is gone.
    rss: () => {
      try {
        return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
      } catch {
        return 0;
      }
    },
    cpuSeconds: () => {
      try {
        const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
        return (Number(fields[11]) + Number(fields[12])) / 100;
      } catch {
        return 0;
      }
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface BenchUser {
  id: string;
  token: string;
}

/** Users straight in Postgres (no password hash) with tokens signed by `secret`, valid a day. */
export function usersWithTokens(
  url: string,
  count: number,
  secret: string,
  role: 'CUSTOMER' | 'ADMIN' = 'CUSTOMER',
): Promise<BenchUser[]> {
  return createUsersSignedWith(url, count, secret, role, 86_400);
}

/** A sale open now, created through the admin API (and preheated). */
export async function openSale(base: string, admin: BenchUser, fields: Record<string, unknown>): Promise<string> {
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${admin.token}` };
  const created = await fetch(`${base}/admin/sales`, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      name: 'bench sale',
      sku: 'BENCH-1',
      price: 1000,
      startsAt: new Date(Date.now() - 1000).toISOString(),
      endsAt: new Date(Date.now() + 6 * 3600_000).toISOString(),
      ...fields,
    }),
  });
  const sale = (await created.json()) as { id: string };
  if (created.status !== 201) throw new Error(`sale not created: ${JSON.stringify(sale)}`);
  const heated = await fetch(`${base}/admin/sales/${sale.id}/preheat`, {
    method: 'POST',
    headers: { authorization: headers.authorization },
  });
  if (heated.status !== 200) throw new Error(`preheat failed: ${await heated.text()}`);
  return sale.id;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;

/**
 * Writes bench/results/<name>-<stamp>.json: the record with its stamp and the
 * command that made it (`npm run <script> -- <args>`). Returns the file's path
 * from the repo's root.
 */
export function writeResult(name: string, script: string, record: object): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 16);
  const args = process.argv.slice(2);
  const command = `npm run ${script}${args.length ? ` -- ${args.join(' ')}` : ''}`;
  const dir = path.join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}-${stamp}.json`);
  writeFileSync(file, `${JSON.stringify({ stamp, command, ...record }, null, 2)}\n`);
  return path.relative(ROOT, file);
}
