/**
 * `npm run bench [-- --quick] [--notifications] [--round-trips] [--profile]
 *                 [--users N] [--stock N] [--connections N] [--admission-seconds N]
 *                 [--soldout-seconds N] [--ceiling-seconds N] [--root DIR] [--redis-url URL]
 *                 [--worker-priority N] [--db NAME] [--env KEY=VALUE ...]`
 *
 * A reproducible flash-sale spike on this machine: the built API and workers
 * as separate processes (production settings, request logging on), N users
 * with tokens, one sale, then: the ceiling (a bare Fastify POST route loaded
 * the same way), "admission" (until the stock is gone), the drain to
 * AWAITING_PAYMENT, "sold out" (the crowd after the last unit), with
 * --notifications the email and SMS of every order, and the invariants.
 * Reports req/s, latency (at the generator, and inside the API from its
 * /metrics histogram), how many connections waited over a second for their
 * first answer, CPU µs per admitted order of every component (from /proc),
 * Redis commands and Postgres work per order; writes
 * bench/results/<stamp>.json and .svg (and latest.svg for full runs).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { bucketStats } from '../src/gate/gate-read-model.js';
import { gateKeys } from '../src/gate/gate.keys.js';
import { OwnRedis } from '../test/support/redis-server.js';
import { createUsersSignedWith } from '../test/support/users.js';
import { chartSvg } from './chart.js';
import { API_NODE_FLAGS, WORKER_NODE_FLAGS, BASE_DB, databaseUrl, freePort, freshDatabase, query } from './support.js';
import {
  cpuBetween,
  cpuSnapshot,
  pidsOf,
  startNode,
  stopProc,
  type Components,
  type Proc,
  startCeilingServer,
} from './procs.js';
import {
  commandsBetween,
  pgBetween,
  pgCounters,
  PgRoundTripCounter,
  RedisRoundTripCounter,
  redisCommandStats,
  type PgCounters,
} from './stats.js';

const HERE = path.resolve(import.meta.dirname, '../..');

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    notifications: { type: 'boolean', default: false },
    'round-trips': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    'node-options': { type: 'string' },
    users: { type: 'string' },
    stock: { type: 'string' },
    connections: { type: 'string' },
    'admission-seconds': { type: 'string' },
    'soldout-seconds': { type: 'string' },
    'ceiling-seconds': { type: 'string' },
    root: { type: 'string' },
    'redis-url': { type: 'string' },
    'worker-priority': { type: 'string' },
    /** The database it creates (and drops first): another name lets two runs share the machine's Postgres. */
    db: { type: 'string' },
    /** A setting for the API and the workers (repeatable), e.g. --env HANDOFF_LINGER_MS=20. */
    env: { type: 'string', multiple: true },
  },
});
const quick = flags.quick ?? false;
const roundTrips = flags['round-trips'] ?? false;
const small = quick || roundTrips;
const num = (value: string | undefined, full: number, smaller: number): number =>
  value === undefined ? (small ? smaller : full) : Number(value);
const P = {
  users: num(flags.users, 100_000, 10_000),
  stock: num(flags.stock, 50_000, 5_000),
  connections: num(flags.connections, 1_000, 200),
  admissionSeconds: num(flags['admission-seconds'], 90, 30),
  soldOutSeconds: num(flags['soldout-seconds'], 10, 5),
  ceilingSeconds: num(flags['ceiling-seconds'], 10, 5),
  notifications: flags.notifications ?? false,
  workerPriority: Number(flags['worker-priority'] ?? 0),
  settings: flags.env ?? [],
};
/** The build under test: this checkout, or another one (e.g. an older commit, for before/after figures). */
const ROOT = path.resolve(flags.root ?? HERE);

const DB_NAME = flags.db ?? 'flash_sale_bench';
/** The same database through another port on this machine (the round-trip counting proxy). */
const viaPort = (url: string, port: number): string => {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(port);
  return u.toString();
};
const DB = databaseUrl(DB_NAME);
const JWT_SECRET = randomBytes(32).toString('hex');
const PREFIX = 'fsbench';
const QUEUE_PREFIX = '{fsbenchq}';
/** The buy path's worker; notifications have their own (with --notifications). */
const BUY_PATH_QUEUES = 'ops,promotions,orders,inventory,timeouts';

function log(message: string): void {
  console.log(`[bench] ${message}`);
}

interface PhaseResult {
  name: string;
  /** When the phase started (ms since the epoch) and how many answers had arrived every 50 ms since. */
  startedAt?: number;
  timeline?: number[];
  seconds: number;
  requests: number;
  rps: number;
  latency: { p50: number; p90: number; p99: number; max: number };
  answers: Record<string, number>;
  apiPeakRssMb: number | null;
  workerPeakRssMb: number | null;
  /** Connections answered at least once, and those whose first answer took over a second. */
  connections: { answered: number; firstAnswerOver1s: number };
  /** Purchase latency inside the API (its HTTP histogram; bucket upper bounds), when measured. */
  server?: { p50: number; p99: number };
}

interface LoadOptions {
  url: string;
  saleId: string;
  tokens: string[];
  seconds: number;
  /** Stop once this many 202s were answered. */
  stopAfterAccepted?: number;
  onAccepted?: (orderId: string) => void;
}

/** One phase: every request with the next user's token; answers counted by status and code. */
async function load(name: string, opts: LoadOptions, procs: Proc[] = []): Promise<PhaseResult> {
  for (const p of procs) p.resetPeak();
  const answers: Record<string, number> = {};
  let next = 0;
  let accepted = 0;
  let answered = 0;
  const started = Date.now();
  const timeline: number[] = [];
  const sampler = setInterval(() => timeline.push(answered), 50);
  let instance: autocannon.Instance | undefined;
  // Per connection: whether it has been answered yet (a connection accepted late waits for its first answer).
  const seen = new WeakSet<object>();
  const connections = { answered: 0, firstAnswerOver1s: 0 };
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
              answered++;
              const key = status === 202 ? '202' : `${status} ${/"code":"([A-Z_]+)"/.exec(body)?.[1] ?? ''}`.trim();
              answers[key] = (answers[key] ?? 0) + 1;
              if (status === 202) {
                accepted++;
                opts.onAccepted?.(/"orderId":"(\w+)"/.exec(body)?.[1] ?? '');
                if (opts.stopAfterAccepted !== undefined && accepted >= opts.stopAfterAccepted) instance?.stop();
              }
            },
          },
        ],
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
    instance.on('response', (client: object, _status: number, _bytes: number, ms: number) => {
      if (seen.has(client)) return;
      seen.add(client);
      connections.answered++;
      if (ms > 1000) connections.firstAnswerOver1s++;
    });
  });
  clearInterval(sampler);
  const seconds = (Date.now() - started) / 1000;
  const requests = result.requests.total;
  const api = procs.find((p) => p.name === 'api');
  const worker = procs.find((p) => p.name === 'worker');
  return {
    name,
    startedAt: started,
    timeline,
    seconds: Math.round(seconds * 10) / 10,
    requests,
    rps: Math.round(requests / seconds),
    latency: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
    answers,
    apiPeakRssMb: api ? Math.round(api.peak() / 1048576) : null,
    workerPeakRssMb: worker ? Math.round(worker.peak() / 1048576) : null,
    connections,
  };
}

/** The API's purchase-route histogram (cumulative count per bucket upper bound in seconds), from /metrics. */
async function purchaseHistogram(url: string): Promise<Map<number, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const buckets = new Map<number, number>();
  const line =
    /^\w+_http_request_duration_seconds_bucket\{le="([^"]+)",method="POST",route="\/sales\/:id\/orders"[^}]*\} (\d+)/gm;
  for (const m of text.matchAll(line)) {
    const le = m[1] === '+Inf' ? Infinity : Number(m[1]);
    buckets.set(le, (buckets.get(le) ?? 0) + Number(m[2]));
  }
  return buckets;
}

/** p50 and p99 in ms (the upper bound of the bucket they fall in) of the requests between two scrapes. */
function serverQuantiles(
  before: Map<number, number>,
  after: Map<number, number>,
): { p50: number; p99: number } | undefined {
  // An API without /metrics (an older build under --root): not measured.
  if (after.size === 0) return undefined;
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((le) => (after.get(le) ?? 0) - (before.get(le) ?? 0));
  const total = counts.at(-1) ?? 0;
  const at = (q: number): number => {
    const i = counts.findIndex((c) => c >= q * total);
    return Math.round((bounds[Math.max(0, i)] ?? 0) * 1000);
  };
  return { p50: at(0.5), p99: at(0.99) };
}

function phaseTable(rows: PhaseResult[], ceiling: PhaseResult | undefined): string {
  const header =
    '| phase | req/s | × ceiling | p50 ms | p90 ms | p99 ms | max ms | in the API p50 / p99 ms | connections first answered after 1 s | requests | answers | API peak RSS | worker peak RSS |';
  const line = '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |';
  const body = rows.map((r) =>
    [
      r.name,
      r.rps.toLocaleString('en-US'),
      ceiling ? (r.rps / ceiling.rps).toFixed(2) : '',
      r.latency.p50,
      r.latency.p90,
      r.latency.p99,
      r.latency.max,
      r.server ? `≤ ${r.server.p50} / ≤ ${r.server.p99}` : '',
      `${r.connections.firstAnswerOver1s} of ${r.connections.answered}`,
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

/** CPU µs per unit (order or request) of each component, per window, as a table. */
function cpuTable(windows: { name: string; cpu: Record<string, number>; per: number; unit: string }[]): string {
  const names = [...new Set(windows.flatMap((w) => Object.keys(w.cpu)))];
  const header = `| window | ${names.join(' | ')} | total of API, workers, Redis, Postgres |`;
  const line = `| --- | ${names.map(() => '---').join(' | ')} | --- |`;
  const system = (n: string): boolean => n !== 'load generator' && n !== 'notify servers';
  const rows = windows.map((w) => {
    const us = (n: string): number => ((w.cpu[n] ?? 0) * 1e6) / w.per;
    const total = names.filter(system).reduce((s, n) => s + us(n), 0);
    return `| ${w.name} (µs per ${w.unit}) | ${names.map((n) => us(n).toFixed(0)).join(' | ')} | ${total.toFixed(0)} |`;
  });
  return [header, line, ...rows].join('\n');
}

async function main(): Promise<void> {
  log(`parameters ${JSON.stringify(P)}${quick ? ' (quick)' : ''}${roundTrips ? ' (round trips)' : ''}, build ${ROOT}`);
  await freshDatabase(DB_NAME, { root: ROOT, stdio: 'inherit' });

  // Redis of the run's own (same settings as the machine's: no persistence), so its CPU and
  // commands are the run's alone; --redis-url uses another one.
  const ownRedis = flags['redis-url'] ? undefined : new OwnRedis();
  await ownRedis?.start();
  const REDIS_URL = flags['redis-url'] ?? ownRedis!.url;
  const redisPid = ownRedis ? pidsOf(new RegExp(`redis-server .*:${ownRedis.port}\\b`)) : pidsOf(/redis-server/);

  // --round-trips: the app reaches Postgres and Redis through proxies that count round trips.
  const counter = roundTrips ? new PgRoundTripCounter() : undefined;
  const pgTarget = new URL(BASE_DB);
  const proxyPort = await counter?.start(Number(pgTarget.port || 5432), pgTarget.hostname || '127.0.0.1');
  const appDb = proxyPort ? viaPort(DB, proxyPort) : DB;
  const redisCounter = roundTrips ? new RedisRoundTripCounter() : undefined;
  const redisTarget = new URL(REDIS_URL);
  const redisProxyPort = await redisCounter?.start(Number(redisTarget.port || 6379), redisTarget.hostname);
  const appRedis = redisProxyPort
    ? Object.assign(new URL(REDIS_URL), { port: String(redisProxyPort) }).toString()
    : REDIS_URL;

  const port = await freePort();
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    DATABASE_URL: appDb,
    REDIS_URL: appRedis,
    JWT_SECRET,
    REDIS_KEY_PREFIX: PREFIX,
    QUEUE_PREFIX,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_REQUESTS: 'true',
    ADMIN_EMAIL: 'bench-admin@bench.test',
    ADMIN_PASSWORD: 'bench-admin-password',
    ...Object.fromEntries((flags.env ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])),
  };
  const profileDir = path.join(HERE, 'bench/results/profiles');
  const prof = (name: string): string[] =>
    flags.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}.cpuprofile`] : [];
  const apiFlags = flags['node-options']?.split(' ').filter(Boolean) ?? API_NODE_FLAGS;
  const procs: Proc[] = [];
  let sink: ChildProcess | undefined;
  let ceilingProc: ChildProcess | undefined;
  try {
    procs.push(
      await startNode('api', [...apiFlags, ...prof('api'), path.join(ROOT, 'dist/main.js')], env, /API listening/),
    );
    procs.push(
      await startNode(
        'worker',
        [...WORKER_NODE_FLAGS, ...prof('worker'), path.join(ROOT, 'dist/worker.js')],
        {
          ...env,
          WORKER_QUEUES: BUY_PATH_QUEUES,
          ...(P.workerPriority ? { PROCESS_PRIORITY: String(P.workerPriority) } : {}),
        },
        /worker ready/,
      ),
    );
    let sinkStats: () => Promise<{ mails: number; texts: number; duplicates: number; lastAt: number }> = () =>
      Promise.resolve({ mails: 0, texts: 0, duplicates: 0, lastAt: 0 });
    if (P.notifications) {
      sink = spawn(process.execPath, [path.join(HERE, 'dist-bench/bench/notify-sink.js')], {
        stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
      });
      const urls = await new Promise<{ smtpUrl: string; smsUrl: string }>((resolve) =>
        sink!.stdout!.once('data', (d: Buffer) =>
          resolve(JSON.parse(d.toString()) as { smtpUrl: string; smsUrl: string }),
        ),
      );
      const child = sink;
      sinkStats = () =>
        new Promise((resolve) => {
          child.once('message', (m) => resolve(m as never));
          child.send('stats');
        });
      procs.push(
        await startNode(
          'notify worker',
          [...WORKER_NODE_FLAGS, ...prof('notify-worker'), path.join(ROOT, 'dist/worker.js')],
          {
            ...env,
            WORKER_QUEUES: 'notifications,email,sms',
            OUTBOX_RELAY: 'false',
            SMTP_URL: urls.smtpUrl,
            SMS_PROVIDER: 'http',
            SMS_GATEWAY_URL: urls.smsUrl,
          },
          /worker ready/,
        ),
      );
    }
    const api = procs[0]!;
    const url = `http://127.0.0.1:${port}`;

    log(`creating ${P.users.toLocaleString('en-US')} users and their tokens`);
    const tokens = (await createUsersSignedWith(DB, P.users, JWT_SECRET)).map((u) => u.token);
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

    let ceiling: PhaseResult | undefined;
    if (!roundTrips) {
      log('ceiling: bare Fastify POST route, same load');
      const ceilingPort = await freePort();
      ceilingProc = await startCeilingServer(ceilingPort);
      ceiling = await load('ceiling', {
        url: `http://127.0.0.1:${ceilingPort}`,
        saleId: sale.id,
        tokens,
        seconds: P.ceilingSeconds,
      });
      ceilingProc.kill('SIGTERM');
    }

    const wait = startsAt - Date.now();
    if (wait > 0) {
      log(`waiting ${Math.ceil(wait / 1000)} s for the sale to start`);
      await new Promise((r) => setTimeout(r, wait + 50));
    }
    // Postgres: the backends of this database plus the server's own processes (WAL writer,
    // checkpointer, ...); backends of other databases on a shared server are not ours.
    const components: Components = {
      api: () => [api.child.pid!],
      worker: () => [procs[1]!.child.pid!],
      ...(P.notifications
        ? { 'notify worker': () => [procs[2]!.child.pid!], 'notify servers': () => [sink!.pid!] }
        : {}),
      redis: () => redisPid,
      postgres: () =>
        pidsOf(
          new RegExp(
            `^postgres: .*(${DB_NAME}|walwriter|checkpointer|background writer|autovacuum launcher|logical replication)`,
          ),
        ),
      'load generator': () => [process.pid],
    };
    // What the server's own processes (counted above) still owe to earlier work is not this run's.
    await query(DB, 'CHECKPOINT');
    const stats = new Redis(REDIS_URL);
    const cpu0 = cpuSnapshot(components);
    const redis0 = await redisCommandStats(REDIS_URL);
    const pg0 = await pgCounters(DB, DB_NAME);
    const rt0 = counter?.roundTrips ?? 0;
    const redisRt0 = redisCounter?.roundTrips ?? 0;

    const histogram0 = await purchaseHistogram(url);
    log(`admission: ${P.connections} connections until ${P.stock.toLocaleString('en-US')} are sold`);
    let firstAccept = 0;
    let lastAccept = 0;
    const acceptedIds: string[] = [];
    const admission = await load(
      'admission',
      {
        url,
        saleId: sale.id,
        tokens,
        seconds: P.admissionSeconds,
        stopAfterAccepted: P.stock,
        onAccepted: (orderId) => {
          lastAccept = Date.now();
          firstAccept ||= lastAccept;
          acceptedIds.push(orderId);
        },
      },
      procs,
    );
    const cpu1 = cpuSnapshot(components);
    const histogram1 = await purchaseHistogram(url);
    admission.server = serverQuantiles(histogram0, histogram1);

    log('waiting for every admitted order to reach AWAITING_PAYMENT');
    // What the gate admitted (a 202 may still be on its way, or lost to a client timeout).
    const admitted = (await bucketStats(stats, gateKeys(PREFIX, sale.id))).counters.admitted ?? 0;
    const accepted = Math.max(admitted, acceptedIds.length);
    const drainDeadline = Date.now() + 300_000;
    let awaiting = 0;
    while (Date.now() < drainDeadline) {
      const [row] = await query<{ n: string }>(
        DB,
        `SELECT count(*) AS n FROM orders WHERE sale_id = $1 AND status = 'AWAITING_PAYMENT'`,
        [sale.id],
      );
      awaiting = Number(row!.n);
      if (awaiting >= accepted) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const [last] = await query<{ at: Date }>(DB, 'SELECT max(updated_at) AS at FROM orders WHERE sale_id = $1', [
      sale.id,
    ]);
    const drainedAt = last!.at.getTime();
    // The admission rate while stock remained: answers until the gate's last admission.
    const [lastAdmission] = await query<{ at: Date }>(
      DB,
      'SELECT max(admitted_at) AS at FROM orders WHERE sale_id = $1',
      [sale.id],
    );
    const stockOutMs = lastAdmission!.at.getTime() - admission.startedAt!;
    const tick = Math.min(admission.timeline!.length - 1, Math.ceil(stockOutMs / 50));
    const whileStockRemained = {
      seconds: Math.round(stockOutMs / 100) / 10,
      requests: admission.timeline![tick] ?? admission.requests,
    };
    // The CPU window is the whole phase (a build that answers slowly after the sell-out runs on in it).
    const admissionPhaseSeconds = admission.seconds;
    admission.seconds = whileStockRemained.seconds;
    admission.requests = whileStockRemained.requests;
    admission.rps = Math.round(whileStockRemained.requests / (stockOutMs / 1000));
    const drainSeconds = (drainedAt - firstAccept) / 1000;
    const drainRate = Math.round(accepted / drainSeconds);
    // What the drain did after the last 202: a moment longer for the last commits' after-work.
    await new Promise((r) => setTimeout(r, 500));
    const cpu2 = cpuSnapshot(components);
    const redis2 = await redisCommandStats(REDIS_URL);
    const rt2 = counter?.roundTrips ?? 0;
    const redisRt2 = redisCounter?.roundTrips ?? 0;

    log(`sold out: ${P.soldOutSeconds} s`);
    const cpu3a = cpuSnapshot(components);
    const histogram2 = await purchaseHistogram(url);
    const soldOut = await load('sold out', { url, saleId: sale.id, tokens, seconds: P.soldOutSeconds }, procs);
    const cpu3 = cpuSnapshot(components);
    soldOut.server = serverQuantiles(histogram2, await purchaseHistogram(url));

    let notifications: Record<string, number> | undefined;
    if (P.notifications) {
      log('waiting for the email and SMS of every order');
      const deadline = Date.now() + 300_000;
      let s = await sinkStats();
      while (s.mails + s.texts < 2 * accepted && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
        s = await sinkStats();
      }
      // The notify worker's CPU from its start to the last message (its start-up included), per message.
      const notifyCpu = cpuBetween({}, cpuSnapshot({ notify: () => [procs[2]!.child.pid!] })).notify ?? 0;
      notifications = {
        emails: s.mails,
        sms: s.texts,
        duplicates: s.duplicates,
        notifyWorkerCpuSeconds: Math.round(notifyCpu * 10) / 10,
        notifyWorkerCpuUsPerMessage: Math.round((notifyCpu * 1e6) / Math.max(1, s.mails + s.texts)),
        secondsFromLast202: Math.round((s.lastAt - lastAccept) / 100) / 10,
        secondsAfterDrain: Math.round((s.lastAt - drainedAt) / 100) / 10,
        messagesPerSecond: Math.round((s.mails + s.texts) / ((s.lastAt - firstAccept) / 1000)),
      };
    }
    const pgEnd = await pgCounters(DB, DB_NAME);
    const pgWork: PgCounters = pgBetween(pg0, pgEnd);

    const [counts] = await query<{ orders: string; available: number; over: string }>(
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
    const [missing] = await query<{ n: string }>(
      DB,
      'SELECT count(*) AS n FROM unnest($1::text[]) AS a(id) WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = a.id)',
      [acceptedIds],
    );
    const invariants: Record<string, boolean> = {
      'orders in Postgres = stock': Number(counts!.orders) === P.stock,
      'every 202 is an order':
        Number(missing!.n) === 0 && acceptedIds.length + (soldOut.answers['202'] ?? 0) <= P.stock,
      'all orders AWAITING_PAYMENT': awaiting === Number(counts!.orders),
      'stock of record 0': counts!.available === 0,
      'no user above the limit': Number(counts!.over) === 0,
      'zero unexpected 5xx': fiveXx === 0,
    };
    if (notifications) {
      invariants['every email and SMS sent'] = notifications.emails === accepted && notifications.sms === accepted;
      invariants['no message twice'] = notifications.duplicates === 0;
    }

    const cpuAdmission = cpuBetween(cpu0, cpu1);
    const cpuDrainTail = cpuBetween(cpu1, cpu2);
    const cpuOrder = cpuBetween(cpu0, cpu2);
    const cpuSoldOut = cpuBetween(cpu3a, cpu3);
    const systemUs = Object.entries(cpuOrder)
      .filter(([n]) => n !== 'load generator' && n !== 'notify servers')
      .reduce((s, [, v]) => s + (v * 1e6) / accepted, 0);
    const commands = commandsBetween(redis0, redis2);
    const commandsPerOrder = [...commands.values()].reduce((a, b) => a + b, 0) / accepted;
    const apiRss = Math.max(admission.apiPeakRssMb ?? 0, soldOut.apiPeakRssMb ?? 0);
    const targets: Record<string, boolean> = ceiling
      ? {
          'admission ≥ 0.3 × ceiling req/s (stretch 0.5 ×)': admission.rps >= 0.3 * ceiling.rps,
          'admission p99 ≤ 500 ms': admission.latency.p99 <= 500,
          'drain ≥ 5,000 orders/s': drainRate >= 5000,
          'CPU per admitted order ≤ 200 µs (API + workers + Redis + Postgres)': systemUs <= 200,
          'sold out ≥ 0.8 × ceiling req/s': soldOut.rps >= 0.8 * ceiling.rps,
          'API RSS ≤ 300 MB': apiRss <= 300,
        }
      : {};
    if (notifications) targets['all messages sent within 60 s after the drain'] = notifications.secondsAfterDrain <= 60;

    const phases = ceiling ? [ceiling, admission, soldOut] : [admission, soldOut];
    console.log(`\n${phaseTable(phases, ceiling)}\n`);
    const cpuWindows = [
      { name: 'admission', cpu: cpuAdmission, per: accepted, unit: 'order' },
      { name: 'drain after the last 202', cpu: cpuDrainTail, per: accepted, unit: 'order' },
      { name: 'admission + drain', cpu: cpuOrder, per: accepted, unit: 'order' },
      { name: 'sold out', cpu: cpuSoldOut, per: soldOut.requests, unit: 'request' },
    ];
    console.log(`${cpuTable(cpuWindows)}\n`);
    console.log(
      `cores busy in the admission phase (${admissionPhaseSeconds} s): ${Object.entries(cpuAdmission)
        .map(([k, v]) => `${k} ${(v / admissionPhaseSeconds).toFixed(2)}`)
        .join(', ')}`,
    );
    console.log(
      `drain: ${accepted.toLocaleString('en-US')} orders to AWAITING_PAYMENT in ${drainSeconds.toFixed(2)} s = ${drainRate.toLocaleString('en-US')} orders/s`,
    );
    console.log(
      `Redis commands per order: ${commandsPerOrder.toFixed(2)} (${[...commands]
        .slice(0, 12)
        .map(([c, n]) => `${c} ${(n / accepted).toFixed(3)}`)
        .join(', ')})` +
        (redisCounter ? `; ${((redisRt2 - redisRt0) / accepted).toFixed(3)} round trips (counted by proxy)` : ''),
    );
    console.log(
      `Postgres per order: ${(pgWork.transactions / accepted).toFixed(3)} transactions, ${(pgWork.inserted / accepted).toFixed(2)} rows inserted, ${(pgWork.updated / accepted).toFixed(2)} updated, ${(pgWork.deleted / accepted).toFixed(2)} deleted, ${Math.round(pgWork.walBytes / accepted)} WAL bytes` +
        (counter ? `, ${((rt2 - rt0) / accepted).toFixed(3)} round trips (counted by proxy)` : ''),
    );
    if (notifications) console.log(`notifications: ${JSON.stringify(notifications)}`);
    for (const [name, ok] of Object.entries(invariants)) console.log(`invariant ${ok ? 'ok  ' : 'FAIL'} ${name}`);
    for (const [name, ok] of Object.entries(targets)) console.log(`target    ${ok ? 'met ' : 'MISS'} ${name}`);

    const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 16);
    const dir = path.join(HERE, 'bench/results');
    mkdirSync(dir, { recursive: true });
    const record = {
      stamp,
      command: `npm run bench${process.argv.slice(2).length ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
      build: ROOT === HERE ? 'this checkout' : ROOT,
      parameters: P,
      machine: { cpus: cpus().length, node: process.version },
      phases,
      drain: { orders: accepted, seconds: drainSeconds, ordersPerSecond: drainRate },
      cpuMicrosPerUnit: Object.fromEntries(
        cpuWindows.map((w) => [
          w.name,
          Object.fromEntries(Object.entries(w.cpu).map(([k, v]) => [k, Math.round((v * 1e6) / w.per)])),
        ]),
      ),
      redisRoundTripsPerOrder: redisCounter ? (redisRt2 - redisRt0) / accepted : undefined,
      redisCommandsPerOrder: Object.fromEntries(
        [...commands].map(([c, n]) => [c, Math.round((n / accepted) * 1000) / 1000]),
      ),
      postgresPerOrder: {
        transactions: pgWork.transactions / accepted,
        inserted: pgWork.inserted / accepted,
        updated: pgWork.updated / accepted,
        deleted: pgWork.deleted / accepted,
        walBytes: pgWork.walBytes / accepted,
        roundTrips: counter ? (rt2 - rt0) / accepted : undefined,
      },
      notifications,
      invariants,
      targets,
    };
    writeFileSync(path.join(dir, `${stamp}.json`), `${JSON.stringify(record, null, 2)}\n`);
    if (ceiling) {
      const svg = chartSvg(
        phases.map((p) => ({ name: p.name, rps: p.rps, p99: p.latency.p99 })),
        `${P.connections} connections, stock ${P.stock.toLocaleString('en-US')}, drain ${drainRate.toLocaleString('en-US')} orders/s (${stamp})`,
      );
      writeFileSync(path.join(dir, `${stamp}.svg`), svg);
      // latest.svg and latest.json are the run docs/benchmarks.md shows: full runs only.
      if (!small) {
        writeFileSync(path.join(dir, 'latest.svg'), svg);
        writeFileSync(path.join(dir, 'latest.json'), `${JSON.stringify(record, null, 2)}\n`);
      }
    }
    log(`wrote bench/results/${stamp}.json`);
    if (Object.values(invariants).some((ok) => !ok)) {
      console.error('[bench] INVARIANT BREACH: see above');
      process.exitCode = 1;
    }
    stats.disconnect();
  } finally {
    ceilingProc?.kill('SIGTERM');
    for (const p of procs) await stopProc(p);
    sink?.kill('SIGTERM');
    await counter?.stop();
    await redisCounter?.stop();
    await ownRedis?.dispose();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
