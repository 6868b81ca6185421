/**
 * `npm run bench:room [-- --quick] [--shoppers N] [--stock N] [--rate N|auto] [--max-active N]
 *                      [--claim-seconds N] [--connections N] [--prequeue-seconds N]
 *                      [--late-join-seconds N] [--deadline-seconds N] [--million N]
 *                      [--probes N] [--trace N] [--profile] [--polls-only] [--env KEY=VALUE ...]`
 *
 * The waiting room under a crowd (issue 19, item 9), on this machine: the
 * built API and worker as separate processes (production settings), a Redis of
 * the run's own, N shoppers with tokens and one sale with a room (stock S,
 * `admitPerSecond` R). Phases:
 *
 * 1. ceiling: a bare Fastify GET route answering a constant poll-shaped body,
 *    loaded like the poll phase (same connections, same requests);
 * 2. pre-queue joins: half the shoppers join before the start, as fast as the
 *    pool goes (join req/s and CPU µs per join; Redis memory per waiter);
 * 3. polls: every pre-queued shopper polls once, as fast as the pool goes
 *    (poll req/s and CPU µs per poll, against the ceiling);
 * 4. the sale: every shopper polls when its `refreshAfterSeconds` says (never
 *    earlier); the other half join after the start, spread over
 *    --late-join-seconds in a fixed order; an admitted shopper buys at once
 *    with its `Admission-Token` (latency at the generator, on connections of
 *    its own); probes try to buy without an admission, with a forged one,
 *    another shopper's, and a used one, once a quarter of the stock is sold;
 *    until every shopper has an outcome (bought, sold out, closed, ...);
 * 5. one million waiters (--million) joined by calling the room's JOIN script
 *    directly on an empty Redis of their own: Redis memory per waiter.
 *
 * Figures: fairness (Kendall's τ-b between pre-queue join time and admission
 * order; post-start joiners placed in join order), the admission rate against
 * the configured one, the estimate's accuracy (issue 19 item 5), purchase p99,
 * and the invariants from Postgres and Redis. Writes
 * bench/results/room-<stamp>.json.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { OwnRedis } from '../test/support/redis-server.js';
import { createUsersSignedWith } from '../test/support/users.js';
import { HttpPool, request, type Answer } from './http-pool.js';
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
import { kendallTau, outOfOrder, percentile, slope } from './rank-stats.js';
import {
  API_NODE_FLAGS,
  WORKER_NODE_FLAGS,
  databaseUrl,
  freePort,
  freshDatabase,
  query,
  writeResult,
} from './support.js';
import { bucketStats } from '../src/gate/gate-read-model.js';
import { gateKeys } from '../src/gate/gate.keys.js';
import { roomKeys } from '../src/room/room.keys.js';
import { millionWaiters } from './room-memory.js';

const HERE = path.resolve(import.meta.dirname, '../..');

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    shoppers: { type: 'string' },
    stock: { type: 'string' },
    rate: { type: 'string' },
    'max-active': { type: 'string' },
    'claim-seconds': { type: 'string' },
    connections: { type: 'string' },
    'purchase-connections': { type: 'string' },
    'prequeue-seconds': { type: 'string' },
    'late-join-seconds': { type: 'string' },
    'deadline-seconds': { type: 'string' },
    million: { type: 'string' },
    probes: { type: 'string' },
    /** Keep every answer of this many shoppers (every n-th) in the result, for a closer look. */
    trace: { type: 'string' },
    env: { type: 'string', multiple: true },
    /** V8 CPU profiles of the API and the worker (bench/results/profiles/room-api.cpuprofile, room-worker...). */
    profile: { type: 'boolean', default: false },
    /** Stop after the poll phases (ceiling, joins, polls, early polls): their figures only, no result file. */
    'polls-only': { type: 'boolean', default: false },
  },
});
const quick = flags.quick ?? false;
const num = (value: string | undefined, full: number, small: number): number =>
  value === undefined ? (quick ? small : full) : Number(value);
const stock = num(flags.stock, 10_000, 500);
/** `--rate auto`: the room finds its rate (docs/overload.md); it starts at ROOM_DEFAULT_ADMIT_PER_SECOND (500). */
const autoRate = flags.rate === 'auto';
const rate = autoRate ? 500 : num(flags.rate, 500, 100);
const P = {
  shoppers: num(flags.shoppers, 100_000, 5_000),
  stock,
  admitPerSecond: autoRate ? ('auto' as const) : rate,
  /** Admitted and not done: far above what the purchases in flight need, so the rate, not the cap, paces. */
  maxActive: num(flags['max-active'], stock, stock),
  claimSeconds: num(flags['claim-seconds'], 60, 60),
  connections: num(flags.connections, 256, 64),
  purchaseConnections: num(flags['purchase-connections'], 128, 16),
  /**
   * From the sale's creation to its start: the pre-queue joins and the poll phases happen in it
   * (default: from the ceiling measured, room for three requests per pre-queued shopper at a tenth of it).
   */
  prequeueSeconds: flags['prequeue-seconds'] === undefined ? undefined : Number(flags['prequeue-seconds']),
  /** The post-start half arrives evenly over this time from the start (default: the admission's length). */
  lateJoinSeconds: num(flags['late-join-seconds'], Math.ceil(stock / rate), Math.ceil(stock / rate)),
  /** Longest the sale phase may last after the start. */
  deadlineSeconds: num(flags['deadline-seconds'], 300, 120),
  million: num(flags.million, 1_000_000, 100_000),
  probes: num(flags.probes, 50, 10),
  trace: num(flags.trace, 20, 20),
  settings: flags.env ?? [],
};

const DB_NAME = 'flash_sale_room_bench';
const DB = databaseUrl(DB_NAME);
const JWT_SECRET = randomBytes(32).toString('hex');
const PREFIX = 'fsroom';
const QUEUE_PREFIX = '{fsroomq}';
const WORKER_QUEUES = 'ops,promotions,orders,inventory,timeouts';

function log(message: string): void {
  console.log(`[bench:room] ${message}`);
}

/** Epoch ms of a performance.now() reading. */
const epoch = (t: number): number => performance.timeOrigin + t;

/** What the room answers on join and poll (issue 19's contract). */
interface RoomAnswer {
  state: string;
  position: number | null;
  estimatedWaitSeconds: { low: number; high: number } | null;
  refreshAfterSeconds: number;
  startsAt: string;
  admission: { token: string; expiresAt: string } | null;
  /** Sent back in the Queue-Token header: a poll before refreshAfterSeconds is answered from it, without Redis. */
  queueToken?: string | null;
}

interface Shopper {
  index: number;
  userId: string;
  token: string;
  late: boolean;
  /** The Queue-Token of the last answer, sent back with the next poll (as the shopper's page does). */
  queueToken: string | null;
  /** performance.now() at which the last answer allows the next poll. */
  nextPollAt: number;
  join?: { sentAt: number; answeredAt: number; position: number | null; state: string };
  /** First estimate given in state `waiting` after the start: its midpoint in seconds and when (epoch ms). */
  firstEstimate?: { seconds: number; low: number; high: number; at: number };
  lastEstimate?: number;
  /** When the room admitted the shopper (epoch ms, the server's: the admission's expiry minus the claim window). */
  admittedAt?: number;
  admissionToken?: string;
  outcome?: string;
  polls: number;
  /** What the shopper did last (s after the start): shown for shoppers left without an outcome. */
  last?: string;
  /** With --trace: every answer (s after the start, state, position, estimate low-high, refresh after). */
  trace?: string[];
}

interface Window {
  cpu: Record<string, number>;
  requests: number;
  seconds: number;
}

function parse(answer: Answer): RoomAnswer | undefined {
  if (answer.status < 200 || answer.status >= 300) return undefined;
  try {
    return JSON.parse(answer.body) as RoomAnswer;
  } catch {
    return undefined;
  }
}

const codeOf = (answer: Answer): string =>
  `${answer.status}${/"code":"([A-Z_]+)"/.exec(answer.body)?.[1] ? ` ${/"code":"([A-Z_]+)"/.exec(answer.body)![1]}` : ''}`;

/** Standard deviation of Kendall's τ between two independent orders of n items. */
function tauStdDev(n: number): number {
  return n < 2 ? 0 : Math.sqrt((2 * (2 * n + 5)) / (9 * n * (n - 1)));
}

/** p50, p99 and max of a sample (ms, one decimal). */
function summary(values: number[]): { p50: number; p99: number; max: number; n: number } {
  const sorted = Float64Array.from(values).sort();
  const r = (n: number): number => Math.round(n * 10) / 10;
  return {
    p50: r(percentile(sorted, 50)),
    p99: r(percentile(sorted, 99)),
    max: r(sorted.at(-1) ?? 0),
    n: sorted.length,
  };
}

function count(into: Record<string, number>, key: string): void {
  into[key] = (into[key] ?? 0) + 1;
}

function micros(window: Window): Record<string, number> {
  return Object.fromEntries(
    Object.entries(window.cpu).map(([k, v]) => [k, Math.round((v * 1e6) / Math.max(1, window.requests))]),
  );
}

/** The shoppers' scores in the room's queue (sorted set: a uniform draw before the start, 1 + join sequence after). */
async function queueScores(url: string, saleId: string, userIds: string[]): Promise<(number | null)[]> {
  const redis = new Redis(url);
  try {
    const key = roomKeys(PREFIX, saleId).queue;
    const scores: (number | null)[] = [];
    for (let i = 0; i < userIds.length; i += 5000) {
      const chunk = await redis.zmscore(key, ...userIds.slice(i, i + 5000));
      for (const score of chunk) scores.push(score === null ? null : Number(score));
    }
    return scores;
  } finally {
    redis.disconnect();
  }
}

async function redisMemory(url: string): Promise<number> {
  const redis = new Redis(url);
  try {
    return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? 0);
  } finally {
    redis.disconnect();
  }
}

async function main(): Promise<void> {
  log(
    `parameters ${JSON.stringify(P)}${quick ? ' (quick)' : ''}; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const loadBefore = loadavg();
  await freshDatabase(DB_NAME, { stdio: 'inherit' });
  const ownRedis = new OwnRedis();
  await ownRedis.start();
  const redisPid = pidsOf(new RegExp(`redis-server .*:${ownRedis.port}\\b`));
  const port = await freePort();
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    DATABASE_URL: DB,
    REDIS_URL: ownRedis.url,
    JWT_SECRET,
    REDIS_KEY_PREFIX: PREFIX,
    QUEUE_PREFIX,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_REQUESTS: 'true',
    ADMIN_EMAIL: 'room-admin@bench.test',
    ADMIN_PASSWORD: 'room-admin-password',
    ...Object.fromEntries(P.settings.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])),
  };
  const procs: Proc[] = [];
  let ceilingProc: ChildProcess | undefined;
  const pools: HttpPool[] = [];
  try {
    const profileDir = path.join(HERE, 'bench/results/profiles');
    const prof = (name: string): string[] =>
      flags.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}.cpuprofile`] : [];
    procs.push(
      await startNode(
        'room-api',
        [...API_NODE_FLAGS, ...prof('room-api'), path.join(HERE, 'dist/main.js')],
        env,
        /API listening/,
      ),
    );
    procs.push(
      await startNode(
        'room-worker',
        [...WORKER_NODE_FLAGS, ...prof('room-worker'), path.join(HERE, 'dist/worker.js')],
        { ...env, WORKER_QUEUES },
        /worker ready/,
      ),
    );
    const [api, worker] = procs as [Proc, Proc];
    const url = `http://127.0.0.1:${port}`;
    const components: Components = {
      api: () => [api.child.pid!],
      worker: () => [worker.child.pid!],
      redis: () => redisPid,
      postgres: () =>
        pidsOf(new RegExp(`^postgres: .*(${DB_NAME}|walwriter|checkpointer|background writer|autovacuum launcher)`)),
      'load generator': () => [process.pid],
    };
    const measure = async (requests: () => number, work: () => Promise<unknown>): Promise<Window> => {
      const before = cpuSnapshot(components);
      const started = performance.now();
      await work();
      return {
        cpu: cpuBetween(before, cpuSnapshot(components)),
        requests: requests(),
        seconds: (performance.now() - started) / 1000,
      };
    };

    log(`creating ${P.shoppers.toLocaleString('en-US')} shoppers and their tokens`);
    const users = await createUsersSignedWith(DB, P.shoppers, JWT_SECRET, 'CUSTOMER', 86_400);
    const login = await fetch(`${url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: env.ADMIN_EMAIL, password: env.ADMIN_PASSWORD }),
    });
    const { accessToken: adminToken } = (await login.json()) as { accessToken: string };
    const admin = { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` };

    const half = Math.floor(P.shoppers / 2);
    // The ceiling: the same pool, the same number of requests as the poll phase, on a bare route.
    log('ceiling: bare Fastify GET route, loaded like the poll phase');
    const ceilingPort = await freePort();
    ceilingProc = await startCeilingServer(ceilingPort);
    const ceilingPool = new HttpPool(ceilingPort, P.connections);
    const ceilingRequests = users.slice(0, half).map((u) => request('GET', '/sales/ceiling/queue', { token: u.token }));
    await ceilingPool.sendAll(ceilingRequests.slice(0, Math.min(2000, half))); // connections up, JIT warm
    const ceilingBefore = cpuSnapshot({ ceiling: () => [ceilingProc!.pid!] });
    const ceilingStarted = performance.now();
    await ceilingPool.sendAll(ceilingRequests);
    const ceilingSeconds = (performance.now() - ceilingStarted) / 1000;
    const ceilingCpu = cpuBetween(ceilingBefore, cpuSnapshot({ ceiling: () => [ceilingProc!.pid!] })).ceiling!;
    ceilingPool.close();
    ceilingProc.kill('SIGTERM');
    const ceiling = {
      rps: Math.round(half / ceilingSeconds),
      cpuMicros: Math.round((ceilingCpu * 1e6) / half),
    };
    log(`ceiling ${ceiling.rps} req/s, ${ceiling.cpuMicros} µs CPU per request`);

    const prequeueSeconds = P.prequeueSeconds ?? Math.max(20, Math.ceil((30 * half) / ceiling.rps) + 10);
    const startsAt = Date.now() + prequeueSeconds * 1000;
    const created = await fetch(`${url}/admin/sales`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({
        name: 'room bench sale',
        sku: 'ROOM-BENCH-1',
        price: 9900,
        stock: P.stock,
        // Above 1, so that only the admission's single use refuses a second purchase (the probes).
        perUserLimit: 2,
        startsAt: new Date(startsAt).toISOString(),
        endsAt: new Date(startsAt + 3600_000).toISOString(),
        waitingRoom: {
          admitPerSecond: P.admitPerSecond,
          maxActive: P.maxActive,
          claimSeconds: P.claimSeconds,
          prequeueOpensAt: new Date().toISOString(),
          maxQueue: P.shoppers * 2,
        },
      }),
    });
    const sale = (await created.json()) as { id: string };
    if (created.status !== 201) throw new Error(`sale not created: ${JSON.stringify(sale)}`);
    const queuePath = `/sales/${sale.id}/queue`;
    const shoppers: Shopper[] = users.map((u, index) => ({
      index,
      userId: u.id,
      token: u.token,
      late: index >= half,
      queueToken: null,
      nextPollAt: 0,
      polls: 0,
    }));

    const pollRequest = (s: Shopper): Buffer =>
      request('GET', queuePath, { token: s.token, headers: s.queueToken ? { 'queue-token': s.queueToken } : {} });
    const remember = (s: Shopper, a: Answer, body: RoomAnswer | undefined): void => {
      if (!body) return;
      s.nextPollAt = a.answeredAt + body.refreshAfterSeconds * 1000;
      s.queueToken = body.queueToken ?? null;
    };
    const pool = new HttpPool(port, P.connections);
    const buyPool = new HttpPool(port, P.purchaseConnections);
    pools.push(pool, buyPool);
    const answers = {
      join: {} as Record<string, number>,
      poll: {} as Record<string, number>,
      buy: {} as Record<string, number>,
    };

    // 2. Pre-queue joins, as fast as the pool goes.
    const memory0 = await redisMemory(ownRedis.url);
    log(`pre-queue: ${half.toLocaleString('en-US')} shoppers join before the start`);
    const early = shoppers.slice(0, half);
    // The first few of each phase warm the API up (connections, JIT) and are not measured.
    const warm = Math.min(2000, Math.floor(half / 5));
    const onJoined =
      (from: number) =>
      (i: number, a: Answer): void => {
        const s = early[from + i]!;
        const body = parse(a);
        count(answers.join, body ? body.state : codeOf(a));
        s.join = {
          sentAt: a.sentAt,
          answeredAt: a.answeredAt,
          position: body?.position ?? null,
          state: body?.state ?? codeOf(a),
        };
        remember(s, a, body);
      };
    const joinRequest = (s: Shopper): Buffer => request('POST', queuePath, { token: s.token });
    await pool.sendAll(early.slice(0, warm).map(joinRequest), onJoined(0));
    const joinWindow = await measure(
      () => half - warm,
      () => pool.sendAll(early.slice(warm).map(joinRequest), onJoined(warm)),
    );
    const memory1 = await redisMemory(ownRedis.url);
    log(`joins: ${Math.round((half - warm) / joinWindow.seconds)} req/s, answers ${JSON.stringify(answers.join)}`);
    if (Date.now() > startsAt - 1000)
      throw new Error('the pre-queue joins ran past the start: raise --prequeue-seconds');

    // 3. Every pre-queued shopper polls once, as fast as the pool goes: first a poll the room answers
    // from Redis (no Queue-Token, as a poll made when refreshAfterSeconds says), then one made too
    // early (with the Queue-Token of the last answer: answered from the token, without Redis).
    log('polls: every pre-queued shopper polls once, back to back (answered from Redis)');
    const pollBlast: Record<string, number> = {};
    await pool.sendAll(early.slice(0, warm).map((s) => request('GET', queuePath, { token: s.token })));
    const pollWindow = await measure(
      () => half,
      () =>
        pool.sendAll(
          early.map((s) => request('GET', queuePath, { token: s.token })),
          (i, a) => {
            const body = parse(a);
            count(pollBlast, body?.state ?? codeOf(a));
            remember(early[i]!, a, body);
          },
        ),
    );
    log(`polls: ${Math.round(half / pollWindow.seconds)} req/s, answers ${JSON.stringify(pollBlast)}`);
    log('early polls: every pre-queued shopper polls again at once, with its Queue-Token');
    const earlyBlast: Record<string, number> = {};
    await pool.sendAll(early.slice(0, warm).map((s) => pollRequest(s)));
    const earlyWindow = await measure(
      () => half,
      () =>
        pool.sendAll(
          early.map((s) => pollRequest(s)),
          (_i, a) => count(earlyBlast, parse(a)?.state ?? codeOf(a)),
        ),
    );
    log(`early polls: ${Math.round(half / earlyWindow.seconds)} req/s, answers ${JSON.stringify(earlyBlast)}`);
    if (Date.now() > startsAt - 500) throw new Error('the poll phase ran past the start: raise --prequeue-seconds');
    if (flags['polls-only']) {
      log(
        `polls only: ceiling ${ceiling.rps} req/s (${ceiling.cpuMicros} µs); ` +
          `join ${Math.round(joinWindow.requests / joinWindow.seconds)} req/s ${JSON.stringify(micros(joinWindow))}; ` +
          `poll ${Math.round(half / pollWindow.seconds)} req/s ${JSON.stringify(micros(pollWindow))}; ` +
          `early poll ${Math.round(half / earlyWindow.seconds)} req/s ${JSON.stringify(micros(earlyWindow))}`,
      );
      return;
    }

    // The room's own record of the pre-queue: every pre-queued shopper's draw.
    const prequeueScores = await queueScores(
      ownRedis.url,
      sale.id,
      early.map((s) => s.userId),
    );

    // 4. The sale: polls when the room says, late joins, purchases, probes.
    let finished = 0;
    let endSale: () => void = () => undefined;
    const saleOver = new Promise<void>((resolve) => (endSale = resolve));
    const finish = (s: Shopper, outcome: string): void => {
      if (s.outcome !== undefined) return;
      s.outcome = outcome;
      if (++finished === shoppers.length) endSale();
    };
    const eta = { pairs: 0, notGrown: 0 };
    const purchaseMs: number[] = [];
    /** From the purchase's write on its connection (without the wait for one of the pool's connections). */
    const purchaseWireMs: number[] = [];
    const orderIds: string[] = [];
    let bought = 0;
    let polled = 0;
    let stopping = false;
    const timers = new Set<NodeJS.Timeout>();
    const later = (ms: number, fn: () => void): void => {
      if (stopping) return;
      const t = setTimeout(
        () => {
          timers.delete(t);
          if (!stopping) fn();
        },
        Math.max(0, ms),
      );
      timers.add(t);
    };

    const onRoomAnswer = (s: Shopper, a: Answer, retry: () => void): void => {
      const body = parse(a);
      if (!body) {
        if (a.status === 503 || a.status === 429) return later((a.retryAfter ?? 1) * 1000, retry);
        return finish(s, codeOf(a));
      }
      const at = epoch(a.answeredAt);
      s.last = `${((at - startsAt) / 1000).toFixed(2)} answered ${body.state}, refresh after ${body.refreshAfterSeconds}`;
      s.trace?.push(
        `${((at - startsAt) / 1000).toFixed(2)} ${body.state} ${body.position} ${body.estimatedWaitSeconds?.low}-${body.estimatedWaitSeconds?.high} ${body.refreshAfterSeconds}`,
      );
      if (body.state === 'waiting' && at >= startsAt && body.estimatedWaitSeconds) {
        const { low, high } = body.estimatedWaitSeconds;
        const mid = (low + high) / 2;
        if (!s.firstEstimate) s.firstEstimate = { seconds: mid, low, high, at };
        else {
          eta.pairs++;
          if (mid <= s.lastEstimate!) eta.notGrown++;
        }
        s.lastEstimate = mid;
      }
      remember(s, a, body);
      switch (body.state) {
        case 'prequeue':
        case 'waiting':
          return later(s.nextPollAt - performance.now(), () => poll(s, s.nextPollAt));
        case 'admitted':
          if (!body.admission) return finish(s, 'admitted without an admission');
          s.admittedAt = Date.parse(body.admission.expiresAt) - P.claimSeconds * 1000;
          learnedAfterMs.push(at - s.admittedAt);
          s.admissionToken = body.admission.token;
          return buy(s);
        default:
          return finish(s, body.state);
      }
    };
    // How late polls left the generator (waiting for a free connection: the API is behind), and how
    // long after their admission shoppers learned of it (their refresh period, plus that lateness).
    const pollLateMs: number[] = [];
    const learnedAfterMs: number[] = [];
    const poll = (s: Shopper, due?: number): void => {
      polled++;
      s.polls++;
      s.last = `${since()} poll sent`;
      void pool.send(pollRequest(s)).then((a) => {
        if (due !== undefined) pollLateMs.push(a.sentAt - due);
        count(answers.poll, parse(a)?.state ?? codeOf(a));
        onRoomAnswer(s, a, () => poll(s));
      });
    };
    let lateAnswered = 0;
    let lateScores: Promise<(number | null)[]> | undefined;
    const join = (s: Shopper): void => {
      s.last = `${since()} join sent`;
      void pool.send(request('POST', queuePath, { token: s.token })).then((a) => {
        const body = parse(a);
        count(answers.join, body?.state ?? codeOf(a));
        // Once every late joiner has its first answer, the room's record of their order (before any leaves).
        if (!s.join && ++lateAnswered === lateOnes.length) {
          lateScores = queueScores(
            ownRedis.url,
            sale.id,
            lateOnes.map((l) => l.userId),
          );
        }
        s.join ??= {
          sentAt: a.sentAt,
          answeredAt: a.answeredAt,
          position: body?.position ?? null,
          state: body?.state ?? codeOf(a),
        };
        onRoomAnswer(s, a, () => join(s));
      });
    };
    const purchase = (s: Shopper, token: string | undefined): Promise<Answer> =>
      buyPool.send(
        request('POST', `/sales/${sale.id}/orders`, {
          token: s.token,
          headers: token === undefined ? {} : { 'admission-token': token },
          body: '{}',
        }),
      );
    const lateOnes = shoppers.slice(half);
    const probes: Record<string, Record<string, number>> = {};
    let probing: Promise<void> | undefined;
    const since = (): string => ((Date.now() - startsAt) / 1000).toFixed(2);
    const buy = (s: Shopper): void => {
      s.last = `${since()} buy sent`;
      void purchase(s, s.admissionToken).then((a) => {
        purchaseMs.push(a.answeredAt - a.queuedAt);
        purchaseWireMs.push(a.answeredAt - a.sentAt);
        count(answers.buy, codeOf(a));
        if (a.status === 202) {
          bought++;
          orderIds.push(/"orderId":"(\w+)"/.exec(a.body)?.[1] ?? '');
          finish(s, 'bought');
          if (!probing && bought >= P.stock / 4) probing = probe();
        } else if (a.status === 503 || a.status === 429) later((a.retryAfter ?? 1) * 1000, () => buy(s));
        else finish(s, `purchase ${codeOf(a)}`);
      });
    };
    // Purchases that must all be refused: no admission, a forged one, another shopper's, a used one.
    const probe = async (): Promise<void> => {
      const waiting = shoppers
        .filter((s) => s.late && s.outcome === undefined && !s.admissionToken)
        .slice(0, 3 * P.probes);
      // The latest buyers: their admissions are still inside the claim window (an expired one is refused
      // ADMISSION_INVALID before its use is looked at; a slow `auto` room reaches a quarter of the stock late).
      const used = shoppers
        .filter((s) => s.outcome === 'bought')
        .sort((a, b) => (b.admittedAt ?? 0) - (a.admittedAt ?? 0))
        .slice(0, P.probes);
      const kinds: [string, Shopper[], (s: Shopper, i: number) => string | undefined][] = [
        ['no admission', waiting.slice(0, P.probes), () => undefined],
        [
          'forged admission',
          waiting.slice(P.probes, 2 * P.probes),
          () => `${randomBytes(24).toString('base64url')}.forged`,
        ],
        ["another shopper's admission", waiting.slice(2 * P.probes), (_s, i) => used[i % used.length]?.admissionToken],
        ['a used admission', used, (s) => s.admissionToken],
      ];
      await Promise.all(
        kinds.map(async ([kind, who, token]) => {
          probes[kind] = {};
          for (const [i, s] of who.entries()) count(probes[kind], codeOf(await purchase(s, token(s, i))));
        }),
      );
      log(`probes: ${JSON.stringify(probes)}`);
    };

    const traced = P.trace > 0 ? shoppers.filter((s) => s.index % Math.ceil(shoppers.length / P.trace) === 0) : [];
    for (const s of traced) s.trace = [];
    const saleCpu0 = cpuSnapshot(components);
    const polled0 = polled;
    // Pre-queued shoppers poll when their last answer said; the late half joins evenly over lateJoinSeconds.
    for (const s of early) {
      if (s.join?.state !== 'prequeue' && s.join?.state !== 'waiting') finish(s, `join ${s.join?.state}`);
      else later(s.nextPollAt - performance.now(), () => poll(s, s.nextPollAt));
    }
    const startPerf = startsAt - performance.timeOrigin;
    for (const [i, s] of lateOnes.entries()) {
      later(startPerf + 100 + (i * P.lateJoinSeconds * 1000) / lateOnes.length - performance.now(), () => join(s));
    }
    log(
      `sale starts in ${Math.round((startsAt - Date.now()) / 1000)} s: ${lateOnes.length.toLocaleString('en-US')} more join over ${P.lateJoinSeconds} s after it`,
    );
    const deadline = setTimeout(endSale, startsAt - Date.now() + P.deadlineSeconds * 1000);
    await saleOver;
    clearTimeout(deadline);
    await probing;
    stopping = true;
    for (const t of timers) clearTimeout(t);
    const saleSeconds = (Date.now() - startsAt) / 1000;
    const saleWindow: Window = {
      cpu: cpuBetween(saleCpu0, cpuSnapshot(components)),
      requests: polled - polled0 + lateOnes.length + purchaseMs.length,
      seconds: saleSeconds,
    };
    const memory2 = await redisMemory(ownRedis.url);
    const outcomes: Record<string, number> = {};
    for (const s of shoppers) count(outcomes, s.outcome ?? 'no outcome by the deadline');
    log(`sale over after ${saleSeconds.toFixed(1)} s: ${JSON.stringify(outcomes)}`);

    // Fairness: pre-queue join order against admission order; post-start joiners in join order.
    const admittedEarly = early.filter((s) => s.admittedAt !== undefined);
    const kendallTauPrequeue = kendallTau(
      admittedEarly.map((s) => s.join!.answeredAt),
      admittedEarly.map((s) => s.admittedAt!),
    );
    const lateOrder = lateOrderCheck(lateOnes, shoppers);
    // The same in Redis: post-start joiners' scores in join order, all behind the pre-queue's.
    const lateInRedis = (await lateScores) ?? [];
    const lateQueued = lateOnes.flatMap((s, i) =>
      lateInRedis[i] == null
        ? []
        : [{ sentAt: s.join!.sentAt, answeredAt: s.join!.answeredAt, low: lateInRedis[i]!, high: lateInRedis[i]! }],
    );
    const redisOrder = {
      judged: lateQueued.length,
      outOfOrder: outOfOrder(lateQueued),
      behindPrequeue: lateQueued.every((q) => q.low >= 1) && prequeueScores.every((x) => x === null || x < 1),
    };
    const lateJoinersInOrder =
      lateOrder.inOrder && redisOrder.judged > 0 && redisOrder.outOfOrder === 0 && redisOrder.behindPrequeue;
    // Every pre-queued shopper's draw against their join time (the whole pre-queue, not only the admitted).
    const drawn = early.flatMap((s, i) =>
      prequeueScores[i] == null ? [] : [[s.join!.answeredAt, prequeueScores[i]!]],
    );
    const kendallTauDraws = kendallTau(
      drawn.map((d) => d[0]!),
      drawn.map((d) => d[1]!),
    );

    // Admission rate: least-squares slope of admissions over time, against the configured rate.
    const admittedTimes = shoppers
      .map((s) => s.admittedAt)
      .filter((t): t is number => t !== undefined)
      .sort((a, b) => a - b);
    const measuredRate =
      admittedTimes.length > 1
        ? slope(
            admittedTimes.map((t) => (t - admittedTimes[0]!) / 1000),
            admittedTimes.map((_, i) => i + 1),
          )
        : 0;
    // An `auto` room has no configured rate to compare with: its measured rate is reported alone.
    const admitRateError = autoRate ? null : Math.abs(measuredRate - rate) / rate;

    // Estimates: the first one after the start against the real wait, for every admitted shopper.
    const judged = shoppers.filter((s) => s.admittedAt !== undefined && s.firstEstimate);
    const realWait = (s: Shopper): number => (s.admittedAt! - s.firstEstimate!.at) / 1000;
    const within = judged.filter(
      (s) => Math.abs(realWait(s) - s.firstEstimate!.seconds) <= Math.max(0.2 * s.firstEstimate!.seconds, 30),
    );
    const within20 = judged.filter(
      (s) => Math.abs(realWait(s) - s.firstEstimate!.seconds) <= 0.2 * s.firstEstimate!.seconds,
    );
    const inRange = judged.filter((s) => realWait(s) >= s.firstEstimate!.low && realWait(s) <= s.firstEstimate!.high);

    purchaseMs.sort((a, b) => a - b);
    purchaseWireMs.sort((a, b) => a - b);

    // Invariants from Postgres and Redis.
    log('waiting for every order to be persisted');
    const persistDeadline = Date.now() + 120_000;
    let persisted = 0;
    while (Date.now() < persistDeadline) {
      const [row] = await query<{ n: string }>(DB, 'SELECT count(*) AS n FROM orders WHERE sale_id = $1', [sale.id]);
      persisted = Number(row!.n);
      if (persisted >= bought) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const admittedIds = shoppers.filter((s) => s.admissionToken !== undefined).map((s) => s.userId);
    const [db] = await query<{ orders: string; users: string; over: string; unadmitted: string; available: number }>(
      DB,
      `SELECT (SELECT count(*) FROM orders WHERE sale_id = $1) AS orders,
              (SELECT count(DISTINCT user_id) FROM orders WHERE sale_id = $1) AS users,
              (SELECT count(*) FROM (SELECT user_id FROM orders WHERE sale_id = $1 GROUP BY user_id HAVING count(*) > 1) o) AS over,
              (SELECT count(*) FROM orders WHERE sale_id = $1 AND NOT (user_id::text = ANY($2::text[]))) AS unadmitted,
              (SELECT available FROM inventory WHERE sale_id = $1) AS available`,
      [sale.id, admittedIds],
    );
    const stats = new Redis(ownRedis.url);
    const gateAdmitted = (await bucketStats(stats, gateKeys(PREFIX, sale.id))).counters.admitted ?? 0;
    stats.disconnect();
    const roomStats = (await (await fetch(`${url}/admin/sales/${sale.id}/room`, { headers: admin })).json()) as Record<
      string,
      unknown
    >;
    const probeAccepted = Object.values(probes).reduce((n, p) => n + (p['202'] ?? 0), 0);
    const orders = Number(db!.orders);
    const invariants: Record<string, boolean> = {
      'no oversell: orders ≤ stock, stock of record ≥ 0': orders <= P.stock && db!.available >= 0,
      'every 202 is an order, every order a 202': orders === bought && persisted === bought,
      'the gate admitted exactly the orders': gateAdmitted === orders,
      'no admission used twice: one order per shopper, replays refused':
        Number(db!.over) === 0 &&
        Number(db!.users) === orders &&
        (probes['a used admission']?.['409 ADMISSION_USED'] ?? 0) ===
          (probes['a used admission'] ? Object.values(probes['a used admission']).reduce((a, b) => a + b, 0) : 0),
      'no purchase without an admission: every order by an admitted shopper, probes refused':
        Number(db!.unadmitted) === 0 && probeAccepted === 0 && probing !== undefined,
      'every shopper has an outcome': finished === shoppers.length,
    };
    const invariantsHeld = Object.values(invariants).every(Boolean);

    // 5. One million waiters, joined through the room's script on a Redis of their own.
    log(`memory: ${P.million.toLocaleString('en-US')} waiters through the JOIN script`);
    const million = await millionWaiters(P.million);

    const ceilingRps = ceiling.rps;
    const pollRps = Math.round(half / pollWindow.seconds);
    const joinRps = Math.round((half - warm) / joinWindow.seconds);
    const pollCpu = micros(pollWindow);
    const joinCpu = micros(joinWindow);
    const record = {
      parameters: P,
      machine: { cpus: cpus().length, node: process.version, loadBefore, loadAfter: loadavg() },
      ceilingRps,
      ceilingCpuMicros: ceiling.cpuMicros,
      joinRps,
      joinCpuMicros: joinCpu.api,
      pollRps,
      pollCpuMicros: pollCpu.api,
      earlyPollRps: Math.round(half / earlyWindow.seconds),
      earlyPollCpuMicros: micros(earlyWindow).api,
      pollVsCeiling: Math.round((pollRps / ceilingRps) * 100) / 100,
      cpuMicrosPerRequest: { join: joinCpu, poll: pollCpu, earlyPoll: micros(earlyWindow), sale: micros(saleWindow) },
      bytesPerWaiter: million.bytesPerWaiter,
      millionWaitersMb: Math.round(million.bytes / 1048576),
      million,
      bytesPerWaiterHttp: Math.round((memory1 - memory0) / half),
      redisMemoryMb: { beforeJoins: memory0 / 1048576, afterPrequeue: memory1 / 1048576, afterSale: memory2 / 1048576 },
      kendallTauPrequeue: Math.round(kendallTauPrequeue * 10000) / 10000,
      kendallTauSample: admittedEarly.length,
      // τ's standard deviation for independent orders of this many (n = 500: 0.03; n = 10,000: 0.0067).
      kendallTauStdDev: Math.round(tauStdDev(admittedEarly.length) * 10000) / 10000,
      kendallTauPrequeueDraws: Math.round(kendallTauDraws * 10000) / 10000,
      kendallTauDrawsSample: drawn.length,
      lateJoinersInOrder,
      lateJoiners: { positions: lateOrder, redis: redisOrder },
      admitRateConfigured: P.admitPerSecond,
      admitRateMeasured: Math.round(measuredRate * 10) / 10,
      admitRateError: admitRateError === null ? null : Math.round(admitRateError * 10000) / 10000,
      etaWithinRange: judged.length ? Math.round((within.length / judged.length) * 10000) / 10000 : 0,
      etaWithin20Percent: judged.length ? Math.round((within20.length / judged.length) * 10000) / 10000 : 0,
      etaInsideLowHigh: judged.length ? Math.round((inRange.length / judged.length) * 10000) / 10000 : 0,
      etaJudged: judged.length,
      etaNonIncreasing: eta.pairs ? Math.round((eta.notGrown / eta.pairs) * 10000) / 10000 : 0,
      etaPollPairs: eta.pairs,
      purchaseP50Ms: Math.round(percentile(purchaseMs, 50) * 10) / 10,
      purchaseP99Ms: Math.round(percentile(purchaseMs, 99) * 10) / 10,
      purchaseMaxMs: Math.round((purchaseMs.at(-1) ?? 0) * 10) / 10,
      purchases: purchaseMs.length,
      /**
       * The same from the purchase's write on one of the pool's --purchase-connections (a crowd's shoppers
       * each have a connection of their own; the pool's wait for a free one is the generator's, not the API's).
       */
      purchaseOnWireP50Ms: Math.round(percentile(purchaseWireMs, 50) * 10) / 10,
      purchaseOnWireP99Ms: Math.round(percentile(purchaseWireMs, 99) * 10) / 10,
      pollLateMs: summary(pollLateMs),
      admissionLearnedAfterMs: summary(learnedAfterMs),
      sale: {
        prequeueSeconds,
        seconds: saleSeconds,
        requests: saleWindow.requests,
        rps: Math.round(saleWindow.requests / saleSeconds),
        polls: polled - polled0,
        outcomes,
        answers,
        pollPhaseAnswers: pollBlast,
        earlyPollPhaseAnswers: earlyBlast,
        probes,
        roomStats,
        resent: pool.resent + buyPool.resent,
      },
      withoutOutcome: shoppers
        .filter((s) => s.outcome === undefined)
        .slice(0, 50)
        .map((s) => `#${s.index}: ${s.last}`),
      traces: Object.fromEntries(traced.map((s) => [`${s.late ? 'late' : 'early'} #${s.index}`, s.trace])),
      invariantsHeld,
      invariants,
      targets: {
        'poll ≥ 0.7 × ceiling req/s': pollRps >= 0.7 * ceilingRps,
        'Kendall τ within ±0.02 of 0': Math.abs(kendallTauPrequeue) <= 0.02,
        'post-start joiners in join order': lateJoinersInOrder,
        'admission rate within ±5 %': admitRateError === null ? null : admitRateError <= 0.05,
        'estimate within ±20 % or ±30 s for 90 % of admitted':
          judged.length > 0 && within.length >= 0.9 * judged.length,
        'estimate not grown in ≥ 95 % of polls': eta.pairs > 0 && eta.notGrown >= 0.95 * eta.pairs,
        'purchase p99 ≤ 200 ms': percentile(purchaseMs, 99) <= 200,
      },
    };
    for (const [name, ok] of Object.entries(invariants)) console.log(`invariant ${ok ? 'ok  ' : 'FAIL'} ${name}`);
    for (const [name, ok] of Object.entries(record.targets)) {
      console.log(`target    ${ok === null ? 'n/a ' : ok ? 'met ' : 'MISS'} ${name}`);
    }
    const shown = Object.fromEntries(
      Object.entries(record).filter(
        ([k]) => !['parameters', 'sale', 'million', 'traces', 'withoutOutcome'].includes(k),
      ),
    );
    console.log(JSON.stringify(shown, null, 2));
    const file = writeResult('room', 'bench:room', record);
    log(`wrote ${file}`);
    if (!invariantsHeld) {
      console.error('[bench:room] INVARIANT BREACH: see above');
      process.exitCode = 1;
    }
  } finally {
    for (const p of pools) p.close();
    ceilingProc?.kill('SIGTERM');
    for (const p of procs) await stopProc(p);
    await ownRedis.dispose();
  }
}

/**
 * Post-start joiners must be placed in join order, as the shoppers saw it: a
 * join's position counts from the head of the queue, which moves as shoppers
 * are admitted, so its place in the whole queue is the position plus the
 * admissions before Redis answered it: somewhere between the admissions
 * before the join was sent and before it was answered. A pair is judged when
 * one join was answered before the other was sent, and is out of order only
 * when it certainly is.
 */
function lateOrderCheck(late: Shopper[], all: Shopper[]): { inOrder: boolean; judged: number; outOfOrder: number } {
  const admissions = all
    .map((s) => s.admittedAt)
    .filter((t): t is number => t !== undefined)
    .sort((a, b) => a - b);
  const admittedBefore = (t: number): number => {
    let lo = 0;
    let hi = admissions.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (admissions[mid]! < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const items = late
    .filter((s) => s.join?.state === 'waiting' && s.join.position !== null)
    .map((s) => ({
      sentAt: s.join!.sentAt,
      answeredAt: s.join!.answeredAt,
      low: s.join!.position! + admittedBefore(epoch(s.join!.sentAt)),
      high: s.join!.position! + admittedBefore(epoch(s.join!.answeredAt) + 1),
    }));
  const wrong = outOfOrder(items);
  return { inOrder: items.length > 0 && wrong === 0, judged: items.length, outOfOrder: wrong };
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
