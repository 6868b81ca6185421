/**
 * `npm run bench:soak [-- --minutes 10] [--rate N] [--users 2000] [--calibrate-seconds 15] [--faults] [--malloc-arena-max N] [--db NAME] [--prefix P] [--root DIR] [--profile] [--env NAME=value]…`
 *
 * Soak: the built API and one worker (every queue) as separate processes with
 * production settings, then mixed traffic for N minutes — browse the sales,
 * buy, read orders, pay, cancel, and status streams (SSE, some dropped before
 * they open) — at about half of the capacity measured first (closed loop, same
 * mix), or at --rate requests a second. Reports the API's and the worker's RSS
 * after warm-up (the first 20 % of the run): the target is flat within 10 %
 * (mean of the last quarter of the samples against the first quarter); then
 * stops the traffic and waits until every queue has drained (nothing waiting,
 * active or delayed but the job schedulers), the outbox is relayed and no
 * order is left PENDING or AWAITING_PAYMENT (payment window 30 s), and checks
 * the orders: every 202 persisted (or answering 410 ORDER_LOST after a Redis
 * data loss), no order nobody was told about, inventory consistent with the
 * orders, the gate in sync with Postgres. Both processes' memory (RSS, heap,
 * external, sockets, RSS by mapping) is sampled from their /metrics and
 * smaps before, during and after.
 *
 * --faults: on a redis-server (AOF, appendfsync everysec) and a Postgres of
 * the run's own (initdb into a temp folder, own ports; the machine's shared
 * servers are never touched), restarted during the traffic: Redis keeping its
 * data (SIGTERM, then started from its append-only file), Postgres (pg_ctl
 * stop -m fast / start), Redis empty (SIGKILL, files deleted), Postgres again,
 * Redis crashed (SIGKILL, started from its AOF), each down --fault-down-seconds.
 * RSS flatness is reported but is no target in this mode.
 *
 * --malloc-arena-max N: MALLOC_ARENA_MAX for both processes (glibc's malloc
 * arenas, by default up to 8 per core; see the memory figures).
 *
 * Writes bench/results/soak-<stamp>.json (soak-faults-<stamp>.json with
 * --faults); exits 1 when a target is missed.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { SMTPServer } from 'smtp-server';
import { ALL_QUEUES } from '../src/infra/queues/queues.js';
import type { ReconcileReport } from '../src/sale-admin/reconcile.service.js';
import { OwnPostgres } from '../test/support/postgres-server.js';
import { OwnRedis } from '../test/support/redis-server.js';
import { memorySample, type MemorySample } from './memory.js';
import {
  API_NODE_FLAGS,
  WORKER_NODE_FLAGS,
  clearRedis,
  freePort,
  freshDatabase,
  openSale,
  percentile,
  productionEnv,
  REDIS_URL,
  ROOT,
  round,
  query,
  startNode,
  usersWithTokens,
  writeResult,
  type BenchUser,
  type Proc,
} from './support.js';

const { values: flags } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    rate: { type: 'string' },
    users: { type: 'string', default: '2000' },
    'calibrate-seconds': { type: 'string', default: '15' },
    faults: { type: 'boolean', default: false },
    'fault-down-seconds': { type: 'string', default: '3' },
    'malloc-arena-max': { type: 'string' },
    /** The database it creates (and drops first): another name lets two runs share the machine's Postgres. */
    db: { type: 'string', default: 'flash_sale_soak' },
    /** Its Redis key prefix (queues: `{<prefix>q}`) on the shared Redis, for the same reason. */
    prefix: { type: 'string', default: 'fssoak' },
    /** The build under test: this checkout, or another one (e.g. an older commit, for before/after figures). */
    root: { type: 'string' },
    /** CPU profiles of the API and the worker (bench/results/profiles/soak-*.cpuprofile). */
    profile: { type: 'boolean', default: false },
    /** Any setting for the API and the worker, `NAME=value` (repeatable), as `npm run bench -- --env`. */
    env: { type: 'string', multiple: true },
  },
});
const FAULTS = flags.faults;
const FAULT_DOWN_MS = Number(flags['fault-down-seconds']) * 1000;
const MINUTES = Number(flags.minutes);
const USERS = Number(flags.users);
const CALIBRATE_SECONDS = Number(flags['calibrate-seconds']);
const BUILD = path.resolve(flags.root ?? ROOT);
const prof = (name: string): string[] =>
  flags.profile
    ? [
        '--cpu-prof',
        `--cpu-prof-dir=${path.join(ROOT, 'bench/results/profiles')}`,
        `--cpu-prof-name=${name}.cpuprofile`,
      ]
    : [];
const PREFIX = flags.prefix;
const QUEUE_PREFIX = `{${PREFIX}q}`;
const SAMPLE_MS = 5000;
const MAX_IN_FLIGHT = 1000;

type Op = 'browse' | 'detail' | 'buy' | 'order' | 'pay' | 'cancel' | 'sse';
/** Share of each operation in the mix (sums to 100). */
const MIX: [Op, number][] = [
  ['browse', 25],
  ['detail', 20],
  ['buy', 20],
  ['order', 15],
  ['pay', 10],
  ['cancel', 5],
  ['sse', 5],
];

function log(message: string): void {
  console.log(`[soak] ${message}`);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

class Traffic {
  readonly answers = new Map<string, number>();
  readonly latencies = new Map<Op, number[]>();
  /** Orders bought so far (the newest 20,000), to pay, cancel, read and watch. */
  private readonly bank: { user: BenchUser; id: string }[] = [];
  /** Every 202 of the run, and every order id named by a 503 OUTCOME_UNKNOWN. */
  readonly admitted: { user: BenchUser; id: string }[] = [];
  readonly unknown: string[] = [];
  /** When the last 202 came (ms since the epoch). */
  last202At = 0;
  private next = 0;

  constructor(
    private readonly base: string,
    private readonly saleId: string,
    private readonly users: BenchUser[],
  ) {}

  pick(): Op {
    let roll = Math.random() * 100;
    for (const [op, share] of MIX) {
      roll -= share;
      if (roll < 0) return op;
    }
    return 'browse';
  }

  async run(op: Op): Promise<void> {
    const started = performance.now();
    let outcome: string;
    try {
      outcome = await this.perform(op);
    } catch (err) {
      outcome = `error ${err instanceof Error ? err.name : 'unknown'}`;
    }
    const key = `${op} ${outcome}`;
    this.answers.set(key, (this.answers.get(key) ?? 0) + 1);
    let list = this.latencies.get(op);
    if (!list) this.latencies.set(op, (list = []));
    if (list.length < 200_000) list.push(performance.now() - started);
  }

  private user(): BenchUser {
    return this.users[this.next++ % this.users.length]!;
  }

  private order(): { user: BenchUser; id: string } | undefined {
    return this.bank[Math.floor(Math.random() * this.bank.length)];
  }

  private async call(method: string, url: string, token?: string): Promise<string> {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (method === 'POST') headers['content-type'] = 'application/json';
    const res = await fetch(`${this.base}${url}`, { method, headers, body: method === 'POST' ? '{}' : undefined });
    const text = await res.text();
    return `${res.status} ${/"code":"([A-Z_]+)"/.exec(text)?.[1] ?? ''}`.trim();
  }

  private async perform(op: Op): Promise<string> {
    const order = this.order();
    switch (op) {
      case 'browse':
        return this.call('GET', '/sales');
      case 'detail':
        return this.call('GET', `/sales/${this.saleId}`);
      case 'buy': {
        const user = this.user();
        const res = await fetch(`${this.base}/sales/${this.saleId}/orders`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${user.token}` },
          body: '{}',
        });
        const body = (await res.json()) as { orderId?: string; code?: string };
        if (res.status === 503 && body.code === 'OUTCOME_UNKNOWN' && body.orderId) this.unknown.push(body.orderId);
        if (res.status === 202 && body.orderId) {
          this.admitted.push({ user, id: body.orderId });
          this.last202At = Date.now();
          this.bank.push({ user, id: body.orderId });
          if (this.bank.length > 20_000) this.bank.splice(0, 1000);
        }
        return `${res.status} ${body.code ?? ''}`.trim();
      }
      case 'order':
        return order ? this.call('GET', `/orders/${order.id}`, order.user.token) : this.call('GET', '/sales');
      case 'pay':
        return order ? this.call('POST', `/orders/${order.id}/pay`, order.user.token) : this.call('GET', '/sales');
      case 'cancel':
        return order ? this.call('POST', `/orders/${order.id}/cancel`, order.user.token) : this.call('GET', '/sales');
      case 'sse':
        return order ? this.stream(order) : this.call('GET', '/sales');
    }
  }

  /** Watches an order's status for up to a second; a third of the clients leave before the stream opens. */
  private async stream(order: { user: BenchUser; id: string }): Promise<string> {
    const abort = new AbortController();
    const early = Math.random() < 1 / 3;
    if (early) setTimeout(() => abort.abort(), Math.random() * 5);
    try {
      const res = await fetch(`${this.base}/orders/${order.id}/events`, {
        headers: { authorization: `Bearer ${order.user.token}` },
        signal: abort.signal,
      });
      if (res.status !== 200) return `${res.status} ${/"code":"([A-Z_]+)"/.exec(await res.text())?.[1] ?? ''}`.trim();
      const reader = res.body!.getReader();
      const hold = setTimeout(() => abort.abort(), 200 + Math.random() * 800);
      try {
        while (!(await reader.read()).done) {
          // status events until a final status or the hold ends
        }
      } catch {
        // aborted: the client leaves
      } finally {
        clearTimeout(hold);
      }
      return '200';
    } catch {
      return early ? 'left early' : 'error';
    }
  }
}

/** Closed loop: `loops` clients back to back for `seconds`; the mix's completed operations a second. */
async function calibrate(traffic: Traffic, seconds: number, loops: number): Promise<number> {
  const until = Date.now() + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: loops }, async () => {
      while (Date.now() < until) {
        await traffic.run(traffic.pick());
        done++;
      }
    }),
  );
  return done / seconds;
}

/** Open loop: `rate` operations a second for `seconds`, whatever the answers' pace (shed beyond MAX_IN_FLIGHT). */
async function drive(traffic: Traffic, rate: number, seconds: number): Promise<{ issued: number; shed: number }> {
  const started = Date.now();
  let issued = 0;
  let shed = 0;
  let inFlight = 0;
  const pending = new Set<Promise<void>>();
  while (Date.now() - started < seconds * 1000) {
    const due = Math.floor(((Date.now() - started) / 1000) * rate) - issued;
    for (let i = 0; i < due; i++) {
      issued++;
      if (inFlight >= MAX_IN_FLIGHT) {
        shed++;
        continue;
      }
      inFlight++;
      const p: Promise<void> = traffic.run(traffic.pick()).finally(() => {
        inFlight--;
        pending.delete(p);
      });
      pending.add(p);
    }
    await sleep(10);
  }
  await Promise.all(pending);
  return { issued, shed };
}

interface RssSeries {
  at: number[];
  api: number[];
  worker: number[];
}

function flatness(values: number[]): { firstMb: number; lastMb: number; minMb: number; maxMb: number; change: number } {
  const quarter = Math.max(1, Math.floor(values.length / 4));
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const first = mean(values.slice(0, quarter));
  const last = mean(values.slice(-quarter));
  const mb = (b: number): number => round(b / 1048576);
  return {
    firstMb: mb(first),
    lastMb: mb(last),
    minMb: mb(Math.min(...values)),
    maxMb: mb(Math.max(...values)),
    change: round((last - first) / first, 3),
  };
}

async function queueCounts(queues: Queue[]): Promise<Record<string, Record<string, number>>> {
  const out: Record<string, Record<string, number>> = {};
  for (const queue of queues) {
    const counts = await queue.getJobCounts('wait', 'active', 'prioritized', 'waiting-children', 'failed');
    // Job schedulers (sweeper, reconcile) always have their next run delayed: not backlog.
    const delayed = (await queue.getDelayed()).filter((job) => !job.repeatJobKey).length;
    out[queue.name] = { ...counts, delayed };
  }
  return out;
}

const drained = (counts: Record<string, Record<string, number>>): boolean =>
  Object.values(counts).every(
    (c) => c.wait === 0 && c.active === 0 && c.prioritized === 0 && c['waiting-children'] === 0 && c.delayed === 0,
  );

interface Fault {
  kind: 'redis restarted with its data' | 'redis restarted empty' | 'redis crashed' | 'postgres restarted';
  /** Seconds into the soak when it began; how long the server was down; until the API's /health was 200 and the next 202. */
  at?: number;
  downSeconds?: number;
  healthySeconds?: number;
  next202Seconds?: number;
}

/** The faults of --faults, evenly spread over the middle of the run. */
const FAULT_PLAN: Fault['kind'][] = [
  'redis restarted with its data',
  'postgres restarted',
  'redis restarted empty',
  'postgres restarted',
  'redis crashed',
];

const REDIS_ARGS = ['--appendonly', 'yes', '--appendfsync', 'everysec'];

/** Runs the plan's faults at 15 %, 30 %, … of `seconds` from `started`; resolves with what happened. */
async function injectFaults(
  servers: { redis: OwnRedis; postgres: OwnPostgres },
  base: string,
  traffic: Traffic,
  started: number,
  seconds: number,
): Promise<Fault[]> {
  const done: Fault[] = [];
  for (const [i, kind] of FAULT_PLAN.entries()) {
    const due = started + seconds * 1000 * (0.15 * (i + 1));
    await sleep(Math.max(0, due - Date.now()));
    const t0 = Date.now();
    log(`fault: ${kind} at ${round((t0 - started) / 1000)} s`);
    if (kind === 'postgres restarted') {
      await servers.postgres.stop('fast');
      await sleep(FAULT_DOWN_MS);
      await servers.postgres.start();
    } else {
      await servers.redis.stop(kind === 'redis restarted with its data' ? 'SIGTERM' : 'SIGKILL');
      if (kind === 'redis restarted empty') servers.redis.wipe();
      await sleep(FAULT_DOWN_MS);
      await servers.redis.start(REDIS_ARGS);
    }
    const up = Date.now();
    let healthy = 0;
    while (Date.now() - up < 120_000) {
      const status = await fetch(`${base}/health`, { signal: AbortSignal.timeout(5000) })
        .then((r) => r.status)
        .catch(() => 0);
      if (status === 200) {
        healthy = Date.now();
        break;
      }
      await sleep(200);
    }
    while (traffic.last202At < up && Date.now() - up < 120_000) await sleep(200);
    done.push({
      kind,
      at: round((t0 - started) / 1000),
      downSeconds: round((up - t0) / 1000),
      healthySeconds: healthy ? round((healthy - up) / 1000) : undefined,
      next202Seconds: traffic.last202At >= up ? round((traffic.last202At - up) / 1000) : undefined,
    });
    log(`fault: ${kind}: ${JSON.stringify(done.at(-1))}`);
  }
  return done;
}

/** What the orders of record say about the run's answers, once everything settled. */
async function checkOrders(
  db: string,
  base: string,
  admin: BenchUser,
  saleId: string,
  stock: number,
  traffic: Traffic,
): Promise<Record<string, number | boolean>> {
  const rows = await query<{ id: string; quantity: number; status: string }>(
    db,
    'SELECT id, quantity, status::text AS status FROM orders WHERE sale_id = $1',
    [saleId],
  );
  const ids = new Set(rows.map((r) => r.id));
  const admittedIds = new Set(traffic.admitted.map((a) => a.id));
  const unknown = new Set(traffic.unknown);
  const missing = traffic.admitted.filter((a) => !ids.has(a.id));
  // What the shopper of a 202 that never became an order is told now.
  const told = new Map<string, number>();
  for (const a of missing) {
    const res = await fetch(`${base}/orders/${a.id}`, { headers: { authorization: `Bearer ${a.user.token}` } });
    const code = /"code":"([A-Z_]+)"/.exec(await res.text())?.[1] ?? '';
    const key = `${res.status} ${code}`.trim();
    told.set(key, (told.get(key) ?? 0) + 1);
  }
  const live = rows
    .filter((r) => r.status !== 'CANCELLED' && r.status !== 'FAILED')
    .reduce((n, r) => n + r.quantity, 0);
  const [inventory] = await query<{ available: number }>(db, 'SELECT available FROM inventory WHERE sale_id = $1', [
    saleId,
  ]);
  const report = await fetch(`${base}/admin/sales/${saleId}/reconcile`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin.token}` },
  });
  const reconcile = (await report.json()) as ReconcileReport;
  return {
    admitted: admittedIds.size,
    persisted: admittedIds.size - missing.length,
    lost410: told.get('410 ORDER_LOST') ?? 0,
    lostOtherAnswer: missing.length - (told.get('410 ORDER_LOST') ?? 0),
    outcomeUnknown: unknown.size,
    outcomeUnknownPersisted: [...unknown].filter((id) => ids.has(id)).length,
    ordersNamedByNoAnswer: rows.filter((r) => !admittedIds.has(r.id) && !unknown.has(r.id)).length,
    liveUnits: live,
    inventoryAvailable: inventory!.available,
    'inventory = stock − live orders': inventory!.available === stock - live,
    'gate in sync with Postgres': report.status === 200 && reconcile.inSync && reconcile.gate.exists,
  };
}

async function main(): Promise<void> {
  log(
    `${MINUTES} min, ${USERS} users${flags.rate ? `, ${flags.rate} req/s` : ', half of the measured capacity'}` +
      (FAULTS ? `, with faults (${FAULT_PLAN.join(', ')})` : ''),
  );
  // With --faults: servers of the run's own, safe to stop (the machine's shared ones never are).
  const ownRedis = FAULTS ? new OwnRedis() : undefined;
  const ownPostgres = FAULTS ? new OwnPostgres() : undefined;
  const smtp = new SMTPServer({ authOptional: true, disabledCommands: ['STARTTLS', 'AUTH'], logger: false });
  // A worker that drops its connection mid-message (ECONNRESET) is the worker's business, not the sink's.
  smtp.on('error', () => undefined);
  const procs: Proc[] = [];
  let queues: Queue[] = [];
  try {
    await ownRedis?.start(REDIS_ARGS);
    await ownPostgres?.start();
    const redisUrl = ownRedis?.url ?? REDIS_URL;
    const db = await freshDatabase(flags.db, { root: BUILD, ...(ownPostgres ? { server: ownPostgres.url } : {}) });
    if (!ownRedis) await clearRedis([PREFIX, QUEUE_PREFIX]);
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    const smtpPort = (smtp.server.address() as { port: number }).port;

    const port = await freePort();
    const workerOpsPort = await freePort();
    const secret = randomBytes(32).toString('hex');
    const env = productionEnv(
      { db, secret, prefix: PREFIX, queuePrefix: QUEUE_PREFIX, port },
      {
        SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
        SMS_PROVIDER: 'log',
        REDIS_URL: redisUrl,
        WORKER_OPS_PORT: String(workerOpsPort),
        // glibc's cap on malloc arenas (default 8 per core): what the processes' native memory keeps.
        ...(flags['malloc-arena-max'] ? { MALLOC_ARENA_MAX: flags['malloc-arena-max'] } : {}),
        ...Object.fromEntries(
          (flags.env ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
        ),
      },
    );
    const api = await startNode(
      'soak-api',
      [...API_NODE_FLAGS, ...prof('soak-api'), path.join(BUILD, 'dist/main.js')],
      env,
      /API listening/,
    );
    procs.push(api);
    const worker = await startNode(
      'soak-worker',
      [...WORKER_NODE_FLAGS, ...prof('soak-worker'), path.join(BUILD, 'dist/worker.js')],
      env,
      /worker ready/,
    );
    procs.push(worker);
    const base = `http://127.0.0.1:${port}`;
    const metrics = { api: `${base}/metrics`, worker: `http://127.0.0.1:${workerOpsPort}/metrics` };
    const memory: { api: MemorySample[]; worker: MemorySample[] } = { api: [], worker: [] };
    let started = Date.now();
    const sampleMemory = async (): Promise<void> => {
      const at = round((Date.now() - started) / 1000);
      const [a, w] = await Promise.all([
        memorySample(api.pid, metrics.api, at),
        memorySample(worker.pid, metrics.worker, at),
      ]);
      if (a) memory.api.push(a);
      if (w) memory.worker.push(w);
    };
    const snapshot = async (): Promise<{ api?: MemorySample; worker?: MemorySample }> => {
      await sampleMemory();
      return { api: memory.api.at(-1), worker: memory.worker.at(-1) };
    };
    const idleAtStart = await snapshot();

    const [admin] = await usersWithTokens(db, 1, secret, 'ADMIN');
    const users = await usersWithTokens(db, USERS, secret);
    const stock = 10_000_000;
    const saleId = await openSale(base, admin!, { stock, perUserLimit: 1000, paymentWindowSeconds: 30 });
    const traffic = new Traffic(base, saleId, users);

    let rate = Number(flags.rate ?? 0);
    if (!rate) {
      const capacity = await calibrate(traffic, CALIBRATE_SECONDS, 64);
      rate = Math.max(10, Math.round(capacity / 2));
      log(`capacity of the mix (64 clients back to back): ${Math.round(capacity)} req/s; soaking at ${rate} req/s`);
    }
    traffic.answers.clear();
    traffic.latencies.clear();
    const beforeSoak = await snapshot();

    const rss: RssSeries = { at: [], api: [], worker: [] };
    started = Date.now();
    memory.api.length = 0;
    memory.worker.length = 0;
    const sampler = setInterval(() => {
      rss.at.push(Math.round((Date.now() - started) / 1000));
      rss.api.push(api.rss());
      rss.worker.push(worker.rss());
      void sampleMemory();
    }, SAMPLE_MS);
    const cpuBefore = procs.map((p) => p.cpuSeconds());
    let faultError: unknown;
    const faulting =
      ownRedis && ownPostgres
        ? injectFaults({ redis: ownRedis, postgres: ownPostgres }, base, traffic, started, MINUTES * 60).catch(
            (err: unknown) => {
              faultError = err;
              return [];
            },
          )
        : Promise.resolve([]);
    const { issued, shed } = await drive(traffic, rate, MINUTES * 60);
    const faults = await faulting;
    clearInterval(sampler);
    const seconds = (Date.now() - started) / 1000;
    const cores = procs.map((p) => round((p.cpuSeconds() - cpuBefore[procs.indexOf(p)]!) / seconds, 2));
    const endOfTraffic = await snapshot();

    log('traffic stopped; waiting for every queue to drain');
    queues = ALL_QUEUES.map((name) => new Queue(name, { connection: { url: redisUrl }, prefix: QUEUE_PREFIX }));
    const drainDeadline = Date.now() + 120_000;
    let counts = await queueCounts(queues);
    let outbox = 0;
    let open: Record<string, number> = {};
    for (;;) {
      counts = await queueCounts(queues);
      outbox = Number(
        (await query<{ n: string }>(db, 'SELECT count(*) AS n FROM outbox_events WHERE published_at IS NULL'))[0]!.n,
      );
      open = Object.fromEntries(
        (
          await query<{ status: string; n: string }>(
            db,
            `SELECT status, count(*) AS n FROM orders WHERE status IN ('PENDING', 'AWAITING_PAYMENT') GROUP BY status`,
          )
        ).map((r) => [r.status, Number(r.n)]),
      );
      if ((drained(counts) && outbox === 0 && Object.keys(open).length === 0) || Date.now() > drainDeadline) break;
      await sleep(1000);
    }
    const statuses = Object.fromEntries(
      (await query<{ status: string; n: string }>(db, 'SELECT status, count(*) AS n FROM orders GROUP BY status')).map(
        (r) => [r.status, Number(r.n)],
      ),
    );
    const orders = await checkOrders(db, base, admin!, saleId, stock, traffic);
    // Idle a while after the drain: what the processes keep.
    await sleep(15_000);
    const idleAfter = await snapshot();

    const warm = rss.at.findIndex((t) => t >= MINUTES * 60 * 0.2);
    const apiRss = flatness(rss.api.slice(Math.max(0, warm)));
    const workerRss = flatness(rss.worker.slice(Math.max(0, warm)));
    const latency = Object.fromEntries(
      [...traffic.latencies].map(([op, ms]) => [
        op,
        { n: ms.length, p50: round(percentile(ms, 50)), p99: round(percentile(ms, 99)) },
      ]),
    );
    const targets: Record<string, boolean> = {
      ...(FAULTS
        ? { 'every fault injected': faultError === undefined && faults.length === FAULT_PLAN.length }
        : {
            'API RSS flat within 10 % after warm-up': Math.abs(apiRss.change) <= 0.1,
            'worker RSS flat within 10 % after warm-up': Math.abs(workerRss.change) <= 0.1,
          }),
      'every queue drained, outbox relayed, no order left open':
        drained(counts) && outbox === 0 && Object.keys(open).length === 0,
      'no 5xx but 503 BUSY-like refusals, no failed request': ![...traffic.answers.keys()].some(
        (k) =>
          (/ 5\d\d\b/.test(k) && !(FAULTS ? / 503\b/ : / 503 (BUSY|STREAMS_BUSY|GATE_NOT_READY)$/).test(k)) ||
          / error/.test(k),
      ),
      'API and worker still running': procs.every((p) => p.child.exitCode === null && p.child.signalCode === null),
      'every 202 persisted or answering 410 ORDER_LOST': orders.lostOtherAnswer === 0,
      'every order named by a 202 or an OUTCOME_UNKNOWN': orders.ordersNamedByNoAnswer === 0,
      'inventory = stock − live orders (no oversell)': orders['inventory = stock − live orders'] === true,
      'gate in sync with Postgres': orders['gate in sync with Postgres'] === true,
    };
    if (!FAULTS) targets['no 202 lost'] = orders.lost410 === 0;

    console.log(
      `\nrequests: ${issued} issued at ${rate}/s over ${round(seconds)} s, ${shed} shed (over ${MAX_IN_FLIGHT} in flight)`,
    );
    console.log(`CPU (cores): api ${cores[0]}, worker ${cores[1]}`);
    console.log('latency ms by operation:', JSON.stringify(latency));
    console.log('answers:', JSON.stringify(Object.fromEntries([...traffic.answers].sort((a, b) => b[1] - a[1]))));
    if (FAULTS) console.log('faults:', JSON.stringify(faults), faultError ?? '');
    console.log(`API RSS after warm-up: ${JSON.stringify(apiRss)}`);
    console.log(`worker RSS after warm-up: ${JSON.stringify(workerRss)}`);
    const phases = { idleAtStart, beforeSoak, endOfTraffic, idleAfter };
    for (const [name, m] of Object.entries(phases)) console.log(`memory (MB) ${name}: ${JSON.stringify(m)}`);
    console.log(
      `queues at the end: ${JSON.stringify(counts)}; outbox unpublished ${outbox}; orders ${JSON.stringify(statuses)}`,
    );
    console.log(`orders checked: ${JSON.stringify(orders)}`);
    for (const [name, ok] of Object.entries(targets)) console.log(`target ${ok ? 'met ' : 'MISS'} ${name}`);

    const file = writeResult(FAULTS ? 'soak-faults' : 'soak', 'bench:soak', {
      minutes: MINUTES,
      rate,
      issued,
      shed,
      cores: { api: cores[0], worker: cores[1] },
      latency,
      answers: Object.fromEntries(traffic.answers),
      rss: { apiAfterWarmUp: apiRss, workerAfterWarmUp: workerRss, samples: rss },
      memory: { ...phases, samples: memory },
      ...(FAULTS ? { faults, redis: REDIS_ARGS.join(' ') } : {}),
      end: { queues: counts, outboxUnpublished: outbox, orders: statuses, checked: orders },
      targets,
    });
    log(`wrote ${file}`);
    if (Object.values(targets).some((ok) => !ok)) process.exitCode = 1;
  } finally {
    await Promise.all(queues.map((q) => q.close()));
    for (const p of procs) await p.stop();
    if (smtp.server.listening) await new Promise<void>((resolve) => smtp.close(() => resolve()));
    await ownRedis?.dispose();
    await ownPostgres?.dispose();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
