/**
 * `npm run bench [-- --quick] [--users N] [--stock N] [--connections N]
 *                 [--admission-seconds N] [--soldout-seconds N] [--ceiling-seconds N]`
 *
 * A reproducible flash-sale spike on this machine: the built API and worker as
 * separate processes (production settings, request logging on), N users with
 * tokens, one sale, then the phases "admission" (until the stock is gone) and
 * "sold out", the drain to AWAITING_PAYMENT, the invariants, and the ceiling
 * (a bare Fastify POST route) loaded the same way. Prints a table, writes
 * bench/results/<stamp>.json and .svg (and latest.svg).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { JwtService } from '@nestjs/jwt';
import { Redis } from 'ioredis';
import pg from 'pg';
import { chartSvg } from './chart.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    'node-options': { type: 'string' },
    users: { type: 'string' },
    stock: { type: 'string' },
    connections: { type: 'string' },
    'admission-seconds': { type: 'string' },
    'soldout-seconds': { type: 'string' },
    'ceiling-seconds': { type: 'string' },
  },
});
const quick = flags.quick ?? false;
const num = (value: string | undefined, full: number, small: number): number =>
  value === undefined ? (quick ? small : full) : Number(value);
const P = {
  users: num(flags.users, 100_000, 5_000),
  stock: num(flags.stock, 50_000, 2_000),
  connections: num(flags.connections, 1_000, 200),
  admissionSeconds: num(flags['admission-seconds'], 90, 20),
  soldOutSeconds: num(flags['soldout-seconds'], 10, 5),
  ceilingSeconds: num(flags['ceiling-seconds'], 10, 5),
};

// The same .env as the app (the environment wins): e.g. the docker-compose password.
if (existsSync(path.join(ROOT, '.env'))) process.loadEnvFile(path.join(ROOT, '.env'));
const BASE_DB = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/flash_sale';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const dbUrl = (name: string): string => {
  const u = new URL(BASE_DB);
  u.pathname = `/${name}`;
  return u.toString();
};
const DB = dbUrl('flash_sale_bench');
const JWT_SECRET = randomBytes(32).toString('hex');
const PREFIX = 'fsbench';
/** The API's V8 flags in `npm start` (package.json): a bounded heap keeps RSS low. */
const API_NODE_FLAGS = '--max-old-space-size=256 --max-semi-space-size=8';
const QUEUE_PREFIX = '{fsbenchq}';

function log(message: string): void {
  console.log(`[bench] ${message}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function sql<R extends pg.QueryResultRow>(url: string, text: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, params)).rows;
  } finally {
    await client.end();
  }
}

interface Proc {
  child: ChildProcess;
  logFile: string;
  peak: () => number;
  resetPeak: () => void;
}

/** Starts a node process with its output in a log file; samples its RSS. */
async function start(name: string, args: string[], env: Record<string, string>, ready: RegExp): Promise<Proc> {
  const logFile = path.join(tmpdir(), `flash-sale-bench-${name}.log`);
  const fd = openSync(logFile, 'w');
  const child = spawn(process.execPath, args, {
    cwd: tmpdir(),
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', fd, fd],
  });
  let peak = 0;
  const timer = setInterval(() => {
    try {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      peak = Math.max(peak, kb * 1024);
    } catch {
      // process gone
    }
  }, 200);
  timer.unref();
  child.once('exit', () => clearInterval(timer));
  const deadline = Date.now() + 30_000;
  while (!ready.test(readFileSync(logFile, 'utf8'))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`${name} did not start:\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, logFile, peak: () => peak, resetPeak: () => (peak = 0) };
}

async function stop(proc: Proc): Promise<void> {
  if (proc.child.exitCode !== null) return;
  const exited = new Promise((r) => proc.child.once('exit', r));
  proc.child.kill('SIGTERM');
  await exited;
}

/** CPU seconds used so far by the processes of each component (from /proc). */
function cpuSnapshot(pids: Record<string, number[]>): Record<string, number> {
  const tick = 100; // USER_HZ on Linux
  const out: Record<string, number> = {};
  for (const [name, list] of Object.entries(pids)) {
    out[name] = list.reduce((sum, pid) => {
      try {
        const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
        return sum + (Number(fields[11]) + Number(fields[12])) / tick;
      } catch {
        return sum;
      }
    }, 0);
  }
  return out;
}

function pidsOf(pattern: RegExp): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (pattern.test(readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' '))) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

interface PhaseResult {
  name: string;
  seconds: number;
  requests: number;
  rps: number;
  latency: { p50: number; p90: number; p99: number; max: number };
  answers: Record<string, number>;
  apiPeakRssMb: number | null;
  workerPeakRssMb: number | null;
  /** CPU seconds per component during the phase. */
  cpu?: Record<string, number>;
}

interface LoadOptions {
  url: string;
  saleId: string;
  tokens: string[];
  seconds: number;
  /** Stop early once this many 202s were answered. */
  stopAfterAccepted?: number;
  onAccepted?: () => void;
}

/** One phase: every request with the next user's token; answers counted by status and code. */
async function load(
  name: string,
  opts: LoadOptions,
  api?: Proc,
  worker?: Proc,
  cpuPids?: Record<string, number[]>,
): Promise<PhaseResult> {
  const cpuBefore = cpuPids ? cpuSnapshot(cpuPids) : undefined;
  api?.resetPeak();
  worker?.resetPeak();
  const answers: Record<string, number> = {};
  let next = 0;
  let accepted = 0;
  const started = Date.now();
  let instance: autocannon.Instance | undefined;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon(
      {
        url: opts.url,
        connections: P.connections,
        duration: opts.seconds,
        timeout: 30,
        requests: [
          {
            method: 'POST',
            path: `/sales/${opts.saleId}/orders`,
            headers: { 'content-type': 'application/json' },
            body: '{}',
            setupRequest: (request) => {
              const token = opts.tokens[next++ % opts.tokens.length]!;
              request.headers = { ...request.headers, authorization: `Bearer ${token}` };
              return request;
            },
            onResponse: (status, body) => {
              const key = status === 202 ? '202' : `${status} ${/"code":"([A-Z_]+)"/.exec(body)?.[1] ?? ''}`.trim();
              answers[key] = (answers[key] ?? 0) + 1;
              if (status === 202) {
                accepted++;
                opts.onAccepted?.();
                if (opts.stopAfterAccepted !== undefined && accepted >= opts.stopAfterAccepted) instance?.stop();
              }
            },
          },
        ],
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
  });
  const seconds = (Date.now() - started) / 1000;
  const requests = result.requests.total;
  return {
    name,
    seconds: Math.round(seconds * 10) / 10,
    requests,
    rps: Math.round(requests / seconds),
    latency: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
    answers,
    apiPeakRssMb: api ? Math.round(api.peak() / 1048576) : null,
    workerPeakRssMb: worker ? Math.round(worker.peak() / 1048576) : null,
    cpu: cpuPids && cpuBefore ? cpuDelta(cpuBefore, cpuSnapshot(cpuPids), seconds) : undefined,
  };
}

/** Share of one core each component used over the phase (1.00 = one full core). */
function cpuDelta(
  before: Record<string, number>,
  after: Record<string, number>,
  seconds: number,
): Record<string, number> {
  return Object.fromEntries(
    Object.keys(after).map((k) => [k, Math.round(((after[k]! - (before[k] ?? 0)) / seconds) * 100) / 100]),
  );
}

async function clearRedisPrefixes(): Promise<void> {
  const redis = new Redis(REDIS_URL);
  for (const pattern of [`${PREFIX}:*`, `${QUEUE_PREFIX}:*`]) {
    let cursor = '0';
    do {
      const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 5000);
      cursor = nextCursor;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  }
  redis.disconnect();
}

async function createUsers(count: number): Promise<string[]> {
  const jwt = new JwtService({ secret: JWT_SECRET, signOptions: { expiresIn: 3600, algorithm: 'HS256' } });
  const client = new pg.Client({ connectionString: DB });
  await client.connect();
  const tokens: string[] = [];
  try {
    for (let i = 0; i < count; i += 10_000) {
      const ids = Array.from({ length: Math.min(10_000, count - i) }, () => randomUUID());
      await client.query(
        `INSERT INTO users (id, email, phone, password_hash)
         SELECT id, id::text || '@bench.test', '+14155550100', 'none' FROM unnest($1::uuid[]) AS id`,
        [ids],
      );
      for (const id of ids) tokens.push(jwt.sign({ sub: id, role: 'CUSTOMER' }));
    }
  } finally {
    await client.end();
  }
  return tokens;
}

function table(rows: PhaseResult[], ceiling: PhaseResult): string {
  const header =
    '| phase | req/s | × ceiling | p50 ms | p90 ms | p99 ms | max ms | requests | answers | API peak RSS | worker peak RSS |';
  const line = '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |';
  const body = rows.map((r) =>
    [
      r.name,
      r.rps.toLocaleString('en-US'),
      (r.rps / ceiling.rps).toFixed(2),
      r.latency.p50,
      r.latency.p90,
      r.latency.p99,
      r.latency.max,
      r.requests.toLocaleString('en-US'),
      Object.entries(r.answers)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k}: ${v}`)
        .join(', '),
      r.apiPeakRssMb === null ? '' : `${r.apiPeakRssMb} MB`,
      r.workerPeakRssMb === null ? '' : `${r.workerPeakRssMb} MB`,
    ].join(' | '),
  );
  return [header, line, ...body.map((b) => `| ${b} |`)].join('\n');
}

async function main(): Promise<void> {
  log(`parameters ${JSON.stringify(P)}${quick ? ' (quick)' : ''}`);
  await sql(dbUrl('postgres'), 'DROP DATABASE IF EXISTS flash_sale_bench WITH (FORCE)');
  await sql(dbUrl('postgres'), 'CREATE DATABASE flash_sale_bench');
  await clearRedisPrefixes();
  const migrate = spawn(process.execPath, [path.join(ROOT, 'dist/migrate.js'), 'deploy'], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: DB },
    stdio: 'inherit',
  });
  if ((await new Promise((r) => migrate.once('exit', r))) !== 0) throw new Error('migration failed');

  const port = await freePort();
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    DATABASE_URL: DB,
    REDIS_URL,
    JWT_SECRET,
    REDIS_KEY_PREFIX: PREFIX,
    QUEUE_PREFIX,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_REQUESTS: 'true',
    ADMIN_EMAIL: 'bench-admin@bench.test',
    ADMIN_PASSWORD: 'bench-admin-password',
  };
  // --profile: V8 CPU profiles of both processes (open them in Chrome DevTools).
  const profileDir = path.join(ROOT, 'bench/results/profiles');
  const prof = (name: string): string[] =>
    flags.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}.cpuprofile`] : [];
  // The API runs with the heap flags of `npm start` unless --node-options says otherwise.
  const apiFlags = (flags['node-options'] ?? API_NODE_FLAGS).split(' ').filter(Boolean);
  const api = await start('api', [...apiFlags, ...prof('api'), path.join(ROOT, 'dist/main.js')], env, /API listening/);
  // The buy path's worker; notification queues are left to their own workers
  // (not started here: the figures are about admission and the drain).
  const worker = await start(
    'worker',
    [...prof('worker'), path.join(ROOT, 'dist/worker.js')],
    { ...env, WORKER_QUEUES: 'ops,promotions,orders,inventory' },
    /worker ready/,
  );
  const url = `http://127.0.0.1:${port}`;
  let ceilingProc: ChildProcess | undefined;
  try {
    log(`creating ${P.users.toLocaleString('en-US')} users and their tokens`);
    const tokens = await createUsers(P.users);
    const login = await fetch(`${url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: env.ADMIN_EMAIL, password: env.ADMIN_PASSWORD }),
    });
    const { accessToken } = (await login.json()) as { accessToken: string };
    const startsAt = Date.now() + 4000;
    const created = await fetch(`${url}/admin/sales`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
      body: JSON.stringify({
        name: 'bench sale',
        sku: 'BENCH-1',
        price: 9900,
        stock: P.stock,
        perUserLimit: 1,
        startsAt: new Date(startsAt).toISOString(),
        endsAt: new Date(startsAt + 3600_000).toISOString(),
      }),
    });
    const sale = (await created.json()) as { id: string };
    if (created.status !== 201) throw new Error(`sale not created: ${JSON.stringify(sale)}`);

    log('ceiling: bare Fastify POST route, same load');
    const ceilingPort = await freePort();
    ceilingProc = spawn(
      process.execPath,
      [path.join(ROOT, 'dist-bench/bench/ceiling-server.js'), String(ceilingPort)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    await new Promise<void>((resolve) => ceilingProc!.stdout!.once('data', () => resolve()));
    const ceiling = await load('ceiling', {
      url: `http://127.0.0.1:${ceilingPort}`,
      saleId: sale.id,
      tokens,
      seconds: P.ceilingSeconds,
    });
    ceilingProc.kill('SIGTERM');

    const wait = startsAt - Date.now();
    if (wait > 0) {
      log(`waiting ${Math.ceil(wait / 1000)} s for the sale to start`);
      await new Promise((r) => setTimeout(r, wait + 50));
    }
    const cpuPids = {
      api: [api.child.pid!],
      worker: [worker.child.pid!],
      'load generator': [process.pid],
      redis: pidsOf(/redis-server/),
      postgres: pidsOf(/^postgres/),
    };
    log(`admission: ${P.connections} connections until ${P.stock.toLocaleString('en-US')} are sold`);
    let firstAccept = 0;
    const admission = await load(
      'admission',
      {
        url,
        saleId: sale.id,
        tokens,
        seconds: P.admissionSeconds,
        stopAfterAccepted: P.stock,
        onAccepted: () => (firstAccept ||= Date.now()),
      },
      api,
      worker,
      cpuPids,
    );
    log(`sold out: ${P.soldOutSeconds} s more`);
    const soldOut = await load(
      'sold out',
      { url, saleId: sale.id, tokens, seconds: P.soldOutSeconds },
      api,
      worker,
      cpuPids,
    );

    log('waiting for every accepted order to reach AWAITING_PAYMENT');
    const accepted = (admission.answers['202'] ?? 0) + (soldOut.answers['202'] ?? 0);
    const drainDeadline = Date.now() + 180_000;
    let awaiting = 0;
    while (Date.now() < drainDeadline) {
      const [row] = await sql<{ n: string }>(
        DB,
        `SELECT count(*) AS n FROM orders WHERE sale_id = $1 AND status = 'AWAITING_PAYMENT'`,
        [sale.id],
      );
      awaiting = Number(row!.n);
      if (awaiting >= accepted) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const [last] = await sql<{ at: Date }>(DB, 'SELECT max(updated_at) AS at FROM orders WHERE sale_id = $1', [
      sale.id,
    ]);
    const drainSeconds = (last!.at.getTime() - firstAccept) / 1000;
    const drainRate = Math.round(accepted / drainSeconds);

    const [counts] = await sql<{ orders: string; available: number; over: string }>(
      DB,
      `SELECT (SELECT count(*) FROM orders WHERE sale_id = $1) AS orders,
              (SELECT available FROM inventory WHERE sale_id = $1) AS available,
              (SELECT count(*) FROM (SELECT user_id FROM orders WHERE sale_id = $1
                 GROUP BY user_id HAVING sum(quantity) > 1) o) AS over`,
      [sale.id],
    );
    const fiveXx = [admission, soldOut].reduce(
      (n, p) =>
        n +
        Object.entries(p.answers)
          .filter(([k]) => k.startsWith('5') && !/BUSY|GATE_NOT_READY/.test(k))
          .reduce((a, [, v]) => a + v, 0),
      0,
    );
    const invariants = {
      'accepted = stock': accepted === P.stock,
      'orders in Postgres = stock': Number(counts!.orders) === P.stock,
      'all accepted AWAITING_PAYMENT': awaiting === accepted,
      'stock of record 0': counts!.available === 0,
      'no user above the limit': Number(counts!.over) === 0,
      'zero unexpected 5xx': fiveXx === 0,
    };
    const targets = {
      'admission ≥ 0.5 × ceiling req/s': admission.rps >= 0.5 * ceiling.rps,
      'admission p99 ≤ 2 × ceiling p99': admission.latency.p99 <= 2 * ceiling.latency.p99,
      'sold out ≥ 0.8 × ceiling req/s': soldOut.rps >= 0.8 * ceiling.rps,
      'drain ≥ 5,000 orders/s': drainRate >= 5000,
      'API RSS ≤ 300 MB': Math.max(admission.apiPeakRssMb ?? 0, soldOut.apiPeakRssMb ?? 0) <= 300,
    };

    const phases = [ceiling, admission, soldOut];
    console.log(`\n${table(phases, ceiling)}\n`);
    for (const p of [admission, soldOut]) {
      const cpu = Object.entries(p.cpu ?? {}).map(([k, v]) => `${k} ${v.toFixed(2)}`);
      console.log(`CPU in "${p.name}" (cores busy): ${cpu.join(', ')}`);
    }
    console.log(
      `drain: ${accepted.toLocaleString('en-US')} orders to AWAITING_PAYMENT in ${drainSeconds.toFixed(2)} s = ${drainRate.toLocaleString('en-US')} orders/s`,
    );
    for (const [name, ok] of Object.entries(invariants)) console.log(`invariant ${ok ? 'ok  ' : 'FAIL'} ${name}`);
    for (const [name, ok] of Object.entries(targets)) console.log(`target    ${ok ? 'met ' : 'MISS'} ${name}`);

    const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 16);
    const dir = path.join(ROOT, 'bench/results');
    mkdirSync(dir, { recursive: true });
    const record = {
      stamp,
      command: `npm run bench${process.argv.slice(2).length ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
      parameters: P,
      machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
      phases,
      drain: { orders: accepted, seconds: drainSeconds, ordersPerSecond: drainRate },
      invariants,
      targets,
    };
    writeFileSync(path.join(dir, `${stamp}.json`), `${JSON.stringify(record, null, 2)}\n`);
    const svg = chartSvg(
      phases.map((p) => ({ name: p.name, rps: p.rps, p99: p.latency.p99 })),
      `${P.connections} connections, stock ${P.stock.toLocaleString('en-US')}, drain ${drainRate.toLocaleString('en-US')} orders/s (${stamp})`,
    );
    writeFileSync(path.join(dir, `${stamp}.svg`), svg);
    // latest.svg is the chart the README shows: full runs only.
    if (!quick) writeFileSync(path.join(dir, 'latest.svg'), svg);
    log(`wrote bench/results/${stamp}.json and .svg`);
    if (Object.values(invariants).some((ok) => !ok)) {
      console.error('[bench] INVARIANT BREACH: see above');
      process.exitCode = 1;
    }
  } finally {
    ceilingProc?.kill('SIGTERM');
    await stop(api);
    await stop(worker);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
