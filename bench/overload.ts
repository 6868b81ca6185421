/**
 * `npm run bench:overload [-- --quick] [--seconds 60] [--delay-seconds 30] [--purchase-share 0.7] [--warm-connections 256]
 *   [--no-room] [--room-only] [--room-shoppers 40000] [--room-rate auto] [--root DIR] [--db NAME] [--env KEY=VALUE ...]`
 *
 * Overload control (issue 20), limiter off (today's behaviour) and on, in
 * the same run, on one API copy and one worker on this machine, with a Redis
 * of the bench's own behind a proxy that can delay it:
 * 1. costs and ceiling (limiter off): API CPU per purchase (closed loop,
 *    purchases only), the ceiling = requests per second of the mix
 *    (`--purchase-share` purchases, the rest sale pages) a closed loop gets;
 *    CPU per shed request (an API with shedding on whose limit is pinned at
 *    1, its one place held by a purchase whose body never comes: every other
 *    one is shed; answered without the shed hold, so this is the refusal's
 *    own CPU);
 * 2. per mode, a ramp: an open-loop generator at a fixed, rising rate, from
 *    1× to 5× the ceiling over `--seconds`, then a Redis-delay phase at 1.5×
 *    the ceiling: a third normal, a third with Redis 20 ms slower, a third
 *    normal again;
 * 3. the same ramp on a sale with a waiting room (`--no-room`: skipped),
 *    limiter off and on: the offered requests are the crowd's joins and
 *    polls (`--room-shoppers`, each with the Queue-Token of its last answer),
 *    and a shopper told `admitted` buys at once (bench/room-ramp.ts); the
 *    room admits at `--room-rate` (default `auto`). Goodput, p99 and late
 *    connections as above, and the places lost and requests shed by kind;
 * 4. invariants: every 202 became an order (and no order without a 202 or
 *    an OUTCOME_UNKNOWN), none beyond the stock.
 * The generator runs in this process (not pinned): its CPU is reported.
 * Writes bench/results/overload-<stamp>.json. `--quick`: 20 s ramp, 15 s delay phase.
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { loadavg } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { statusCounts } from '../test/support/buy.js';
import { OwnRedis } from '../test/support/redis-server.js';
import { blast, postRequest } from './blast.js';
import { DelayProxy } from './delay-proxy.js';
import { getRequest, OpenLoop, type Answer, type Outgoing } from './open-loop.js';
import { cpuBetween, cpuSnapshot, startNode, stopProc, type Proc } from './procs.js';
import { RoomCrowd } from './room-ramp.js';
import {
  API_NODE_FLAGS,
  databaseUrl,
  freePort,
  freshDatabase,
  openSale,
  percentile,
  round,
  usersWithTokens,
  WORKER_NODE_FLAGS,
  writeResult,
  type BenchUser,
} from './support.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    seconds: { type: 'string' },
    'delay-seconds': { type: 'string' },
    'purchase-share': { type: 'string', default: '0.7' },
    'cost-requests': { type: 'string' },
    'max-connections': { type: 'string', default: '2000' },
    users: { type: 'string', default: '3000' },
    /** Keep-alive connections opened (and used once) before each phase. */
    'warm-connections': { type: 'string', default: '256' },
    /** Settings of the API under test (e.g. OVERLOAD_TURN_MS=0), on top of the bench's own. */
    env: { type: 'string', multiple: true },
    /** The build under test (another checkout's root, built): its dist/ and migrations. */
    root: { type: 'string' },
    /** The database's name (two sessions' runs must not share one). */
    db: { type: 'string', default: 'flash_sale_overload' },
    /** Skip the ramp on a sale with a waiting room. */
    'no-room': { type: 'boolean', default: false },
    /** Only the ramp on a sale with a waiting room (after the ceiling): no result file. */
    'room-only': { type: 'boolean', default: false },
    /** Shoppers in the room's crowd (each joins, polls, buys once when admitted). */
    'room-shoppers': { type: 'string' },
    /** The room's admitPerSecond (`auto`: overload control's rate). */
    'room-rate': { type: 'string', default: 'auto' },
  },
});
const BUILD = path.resolve(flags.root ?? ROOT);
const SETTINGS = Object.fromEntries(
  (flags.env ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
);
const RAMP_S = Number(flags.seconds ?? (flags.quick ? 20 : 60));
const DELAY_S = Number(flags['delay-seconds'] ?? (flags.quick ? 15 : 30));
const COST_N = Number(flags['cost-requests'] ?? (flags.quick ? 6000 : 20000));
const SHARE = Number(flags['purchase-share']);
const MAX_CONNECTIONS = Number(flags['max-connections']);
const DB_NAME = flags.db;
const DB = databaseUrl(DB_NAME);
const SECRET = randomBytes(32).toString('hex');
const STOCK = 10_000_000;
const WARM_CONNECTIONS = Number(flags['warm-connections']);
const ROOM_SHOPPERS = Number(flags['room-shoppers'] ?? (flags.quick ? 15_000 : 40_000));
const ROOM_RATE = flags['room-rate'] === 'auto' ? 'auto' : Number(flags['room-rate']);

interface Second {
  offered: number;
  goodput: number;
  shed: number;
  busy: number;
  other: number;
  buyMs: number[];
  limit?: number;
  inFlight?: number;
}

interface Tally {
  accepted: number;
  outcomeUnknown: number;
  /** Purchases sent whose answer never came (connection closed at the end of a phase, or an error): may be orders. */
  unanswered: number;
  byCode: Record<string, number>;
}

const newSecond = (): Second => ({ offered: 0, goodput: 0, shed: 0, busy: 0, other: 0, buyMs: [] });

/** The mix: purchases by users in turn, the rest sale pages. */
function mix(saleId: string, users: BenchUser[]): () => { kind: string; bytes: Buffer } {
  const buys = users.map((u) => postRequest(`/sales/${saleId}/orders`, u.token));
  const page = getRequest(`/sales/${saleId}`, users[0]!.token);
  let i = 0;
  return () =>
    Math.random() < SHARE ? { kind: 'buy', bytes: buys[i++ % buys.length]! } : { kind: 'browse', bytes: page };
}

async function scrape(port: number): Promise<{ limit: number; inFlight: number }> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const read = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    return { limit: read('flash_overload_limit'), inFlight: read('flash_overload_in_flight') };
  } catch {
    return { limit: NaN, inFlight: NaN };
  }
}

/**
 * Runs the generator for `seconds` at `rate(t)`, with `during(t)` called each
 * second; per-second figures (answers by the second they arrived in, purchase
 * latencies by the second they were due in) and the tally of purchases.
 */
async function phase(
  port: number,
  saleId: string,
  users: BenchUser[],
  seconds: number,
  rate: (t: number) => number,
  tally: Tally,
  during: (t: number) => void = () => undefined,
  crowd?: RoomCrowd,
): Promise<{ perSecond: Second[]; loop: OpenLoop; generatorCpuSeconds: number }> {
  const perSecond = Array.from({ length: seconds + 10 }, newSecond);
  let t0 = performance.now();
  const at = (ms: number): Second => perSecond[Math.min(perSecond.length - 1, Math.max(0, Math.floor(ms / 1000)))]!;
  const loop = new OpenLoop(
    port,
    (a: Answer) => {
      const arrived = at(a.at - t0);
      crowd?.onAnswer(a);
      if (a.kind === 'buy') {
        tally.byCode[a.code || String(a.status)] = (tally.byCode[a.code || String(a.status)] ?? 0) + 1;
        if (a.status === 202) {
          tally.accepted++;
          arrived.goodput++;
          at(a.at - a.ms - t0).buyMs.push(a.ms);
        } else if (a.code === 'OUTCOME_UNKNOWN') tally.outcomeUnknown++;
        else if (a.status === 0) tally.unanswered++;
      }
      if (a.code === 'OVERLOADED') arrived.shed++;
      else if (a.code === 'BUSY') arrived.busy++;
      else if (a.status < 200 || a.status >= 300) arrived.other++;
    },
    MAX_CONNECTIONS,
  );
  crowd?.attach(loop);
  const next: () => Outgoing = crowd ? crowd.next : mix(saleId, users);
  await loop.warm(WARM_CONNECTIONS, getRequest(`/sales/${saleId}`, users[0]!.token));
  for (let s = 0; s < seconds; s++) perSecond[s]!.offered = Math.round(rate(s + 0.5));
  t0 = performance.now();
  const cpu0 = process.cpuUsage();
  during(0);
  const ticker = setInterval(() => {
    const t = (performance.now() - t0) / 1000;
    during(t);
    void scrape(port).then((m) => {
      const second = at(t * 1000 - 500);
      second.limit = m.limit;
      second.inFlight = m.inFlight;
    });
  }, 1000);
  await loop.run(seconds, rate, next);
  clearInterval(ticker);
  // The answers still on the way (bounded).
  const deadline = Date.now() + 10_000;
  while (loop.outstanding > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  loop.close();
  const cpu = process.cpuUsage(cpu0);
  return { perSecond, loop, generatorCpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

function p99(values: number[]): number {
  return round(percentile(values, 99), 1);
}

/** Figures of a ramp from 1× to 5× (the first and last tenth of it are the 1× and 5× windows). */
function rampFigures(perSecond: Second[], seconds: number) {
  const w = Math.max(2, Math.round(seconds / 10));
  const first = perSecond.slice(0, w);
  const last = perSecond.slice(seconds - w, seconds);
  return {
    peakGoodput: Math.max(...first.map((s) => s.goodput)),
    goodputAt5x: round(last.reduce((sum, s) => sum + s.goodput, 0) / last.length),
    p99At1xMs: p99(first.flatMap((s) => s.buyMs)),
    p99At5xMs: p99(last.flatMap((s) => s.buyMs)),
  };
}

/** Seconds after `from` until a one-second goodput is back to ≥ 90 % of `reference` (null: never in the phase). */
function secondsToReach(perSecond: Second[], from: number, to: number, reference: number): number | null {
  for (let s = from; s < to; s++) if (perSecond[s]!.goodput >= 0.9 * reference) return s - from;
  return null;
}

/** The mean of the seconds' scraped limits (null: none scraped). */
function meanLimit(seconds: Second[]): number | null {
  const limits = seconds.map((s) => s.limit).filter((l): l is number => l !== undefined && Number.isFinite(l));
  return limits.length ? round(limits.reduce((a, b) => a + b, 0) / limits.length) : null;
}

/** Seconds after `from` until the scraped limit first differs from its value at `from` (null: it never moved). */
function firstChange(perSecond: Second[], from: number, to: number): number | null {
  const start = perSecond[from]?.limit;
  for (let s = from + 1; s < to; s++)
    if (perSecond[s]!.limit !== undefined && perSecond[s]!.limit !== start) return s - from;
  return null;
}

async function main(): Promise<void> {
  const loadAtStart = loadavg().map((l) => round(l, 2));
  await freshDatabase(DB_NAME, { root: BUILD });
  const redis = new OwnRedis();
  await redis.start();
  const proxy = new DelayProxy();
  const proxyPort = await proxy.start(redis.port);
  const users = await usersWithTokens(DB, Number(flags.users), SECRET);
  const [admin] = await usersWithTokens(DB, 1, SECRET, 'ADMIN');
  const baseEnv = {
    NODE_ENV: 'production',
    DATABASE_URL: DB,
    REDIS_URL: `redis://127.0.0.1:${proxyPort}`,
    JWT_SECRET: SECRET,
    REDIS_KEY_PREFIX: 'ovb',
    QUEUE_PREFIX: '{ovbq}',
    HOST: '127.0.0.1',
    LOG_REQUESTS: 'false',
    // The API is under test, not the backlog: no BUSY, no per-user rate limit.
    BACKLOG_CAP: '10000000',
    RATE_LIMIT_USER_PER_SECOND: '1000000',
  };
  const worker = await startNode(
    'overload-worker',
    [...WORKER_NODE_FLAGS, path.join(BUILD, 'dist/worker.js')],
    { ...baseEnv, WORKER_QUEUES: 'ops,promotions,orders,inventory,timeouts', PROCESS_PRIORITY: '10' },
    /worker ready/,
  );
  const apis: Proc[] = [];
  const withApi = async <T>(name: string, env: Record<string, string>, fn: (port: number, api: Proc) => Promise<T>) => {
    const port = await freePort();
    const api = await startNode(
      name,
      [...API_NODE_FLAGS, path.join(BUILD, 'dist/main.js')],
      { ...baseEnv, ...SETTINGS, PORT: String(port), ...env },
      /API listening/,
    );
    apis.push(api);
    try {
      return await fn(port, api);
    } finally {
      await stopProc(api);
    }
  };
  const cpuOf = (api: Proc) => ({ api: () => [api.child.pid!] });
  const sales: { saleId: string; tally: Tally }[] = [];
  const newSale = async (port: number): Promise<{ saleId: string; tally: Tally }> => {
    const saleId = await openSale(`http://127.0.0.1:${port}`, admin!, {
      stock: STOCK,
      perUserLimit: 1000,
    });
    const sale = { saleId, tally: { accepted: 0, outcomeUnknown: 0, unanswered: 0, byCode: {} } };
    sales.push(sale);
    return sale;
  };
  const purchases = (saleId: string, n: number, offset = 0) =>
    Array.from({ length: n }, (_, i) =>
      postRequest(`/sales/${saleId}/orders`, users[(offset + i) % users.length]!.token),
    );
  // Closed-loop runs count their 202s only (a 503 there is OVERLOADED: it must leave no order).
  const count = (sale: { tally: Tally }, statuses: Record<number, number>) => {
    sale.tally.accepted += statuses[202] ?? 0;
  };

  try {
    // 1. Costs and the ceiling, limiter off.
    const costs = await withApi('overload-cost', { OVERLOAD_CONTROL: 'false' }, async (port, api) => {
      const sale = await newSale(port);
      count(sale, (await blast(port, purchases(sale.saleId, 2000), 64)).statuses);
      const before = cpuSnapshot(cpuOf(api));
      const bought = await blast(port, purchases(sale.saleId, COST_N, 2000), 64);
      count(sale, bought.statuses);
      const purchaseCpuMicros = round((cpuBetween(before, cpuSnapshot(cpuOf(api))).api! * 1e6) / COST_N);
      const next = mix(sale.saleId, users);
      const mixed = Array.from({ length: COST_N }, () => next());
      const t0 = performance.now();
      const ceilingRun = await blast(
        port,
        mixed.map((m) => m.bytes),
        64,
      );
      count(sale, { 202: ceilingRun.statuses[202] ?? 0 });
      const ceilingRps = Math.round(COST_N / ((performance.now() - t0) / 1000));
      return { purchaseCpuMicros, ceilingRps, purchaseRps: Math.round(COST_N / bought.seconds) };
    });
    console.log(`ceiling ${costs.ceilingRps} req/s (mix), purchase CPU ${costs.purchaseCpuMicros} µs`);

    // CPU per shed request: the limit pinned at 1 and its one place held by a purchase whose body
    // never comes, so every other purchase is shed at the door.
    const shed = await withApi(
      'overload-shed',
      // Shedding on for this phase (it is off by default: the door would measure and let everything through).
      // No hold: the refusal's own CPU (a held one adds a timer; with a hold the closed loop would idle).
      {
        OVERLOAD_CONTROL: 'true',
        OVERLOAD_MIN_LIMIT: '1',
        OVERLOAD_INITIAL_LIMIT: '1',
        OVERLOAD_MAX_LIMIT: '1',
        OVERLOAD_SHED_HOLD_MS: '0',
      },
      async (port, api) => {
        const sale = await newSale(port);
        const hold = connect(port, '127.0.0.1');
        hold.write(
          `POST /sales/${sale.saleId}/orders HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n` +
            `authorization: Bearer ${users[0]!.token}\r\ncontent-length: 2\r\n\r\n`,
        );
        try {
          await new Promise((r) => setTimeout(r, 500));
          count(sale, (await blast(port, purchases(sale.saleId, 2000), 64)).statuses);
          const before = cpuSnapshot(cpuOf(api));
          const run = await blast(port, purchases(sale.saleId, COST_N, 2000), 64);
          count(sale, run.statuses);
          const cpu = cpuBetween(before, cpuSnapshot(cpuOf(api))).api!;
          return {
            shedCpuMicros: round((cpu * 1e6) / COST_N),
            shedShare: round((run.statuses[503] ?? 0) / COST_N, 3),
          };
        } finally {
          hold.destroy();
        }
      },
    );
    console.log(`shed CPU ${shed.shedCpuMicros} µs (${shed.shedShare * 100} % shed)`);
    if (shed.shedShare < 0.9)
      console.warn(`only ${shed.shedShare * 100} % shed: shedCpuMicros is mostly served requests`);

    // 2. The ramp and the Redis delay, limiter off then on.
    const modes: Record<string, unknown> = {};
    for (const [mode, on] of flags['room-only']
      ? []
      : ([
          ['limiterOff', false],
          ['limiterOn', true],
        ] as const)) {
      modes[mode] = await withApi(`overload-${mode}`, { OVERLOAD_CONTROL: String(on) }, async (port, api) => {
        const sale = await newSale(port);
        const cpu0 = cpuSnapshot(cpuOf(api));
        const ramp = await phase(
          port,
          sale.saleId,
          users,
          RAMP_S,
          (t) => costs.ceilingRps * (1 + (4 * t) / RAMP_S),
          sale.tally,
        );
        const apiCores = round(cpuBetween(cpu0, cpuSnapshot(cpuOf(api))).api! / RAMP_S, 2);
        const third = Math.floor(DELAY_S / 3);
        const delay = await phase(
          port,
          sale.saleId,
          users,
          DELAY_S,
          () => costs.ceilingRps * 1.5,
          sale.tally,
          (t) => (proxy.delayMs = t >= third && t < 2 * third ? 20 : 0),
        );
        proxy.delayMs = 0;
        const before = delay.perSecond.slice(1, third);
        const reference = before.reduce((sum, s) => sum + s.goodput, 0) / Math.max(1, before.length);
        const figures = rampFigures(ramp.perSecond, RAMP_S);
        console.log(`${mode}: ${JSON.stringify(figures)}`);
        return {
          ...figures,
          lateConnections: ramp.loop.lateConnections + delay.loop.lateConnections,
          shedCpuMicros: on ? shed.shedCpuMicros : null,
          purchaseCpuMicros: costs.purchaseCpuMicros,
          apiCoresDuringRamp: apiCores,
          generatorCoresDuringRamp: round(ramp.generatorCpuSeconds / RAMP_S, 2),
          connectionsOpened: ramp.loop.opened,
          notSent: ramp.loop.notSent,
          connectionErrors: ramp.loop.errors,
          purchaseAnswers: { ...sale.tally.byCode },
          redisDelay: {
            delayMs: 20,
            phaseSeconds: DELAY_S,
            offeredRps: Math.round(costs.ceilingRps * 1.5),
            goodputBefore: round(reference),
            goodputDuring: round(
              delay.perSecond.slice(third, 2 * third).reduce((sum, s) => sum + s.goodput, 0) / Math.max(1, third),
            ),
            goodputAfter: round(
              delay.perSecond.slice(2 * third + 1, DELAY_S).reduce((sum, s) => sum + s.goodput, 0) /
                Math.max(1, DELAY_S - 2 * third - 1),
            ),
            adaptSeconds: secondsToReach(delay.perSecond, third, 2 * third, reference),
            // The limit itself: its mean before, during and after the delay, and when it first moved in it.
            limitBefore: meanLimit(delay.perSecond.slice(1, third)),
            limitDuring: meanLimit(delay.perSecond.slice(third, 2 * third)),
            limitAfter: meanLimit(delay.perSecond.slice(2 * third + 1, DELAY_S)),
            limitChangeSeconds: firstChange(delay.perSecond, third, 2 * third),
            recoverSeconds: secondsToReach(delay.perSecond, 2 * third, DELAY_S, reference),
            perSecond: delay.perSecond.slice(0, DELAY_S).map(({ buyMs, ...s }) => ({ ...s, p99Ms: p99(buyMs) })),
          },
          perSecond: ramp.perSecond.slice(0, RAMP_S).map(({ buyMs, ...s }) => ({ ...s, p99Ms: p99(buyMs) })),
        };
      });
    }

    // 3. The same ramp on a sale with a waiting room, limiter off then on: the crowd joins and polls at
    // the ramp's rate, the room admits at ROOM_RATE, an admitted shopper buys at once.
    const withRoom: Record<string, unknown> = {};
    if (!flags['no-room']) {
      const shoppers = await usersWithTokens(DB, ROOM_SHOPPERS, SECRET);
      for (const [mode, on] of [
        ['limiterOff', false],
        ['limiterOn', true],
      ] as const) {
        withRoom[mode] = await withApi(`overload-room-${mode}`, { OVERLOAD_CONTROL: String(on) }, async (port, api) => {
          const saleId = await openSale(`http://127.0.0.1:${port}`, admin!, {
            stock: STOCK,
            perUserLimit: 1000,
            waitingRoom: {
              admitPerSecond: ROOM_RATE,
              // No cap on active shoppers (they never pay here, so a cap would fill): the rate is what admits.
              maxActive: ROOM_SHOPPERS,
              claimSeconds: 30,
              maxQueue: ROOM_SHOPPERS * 2,
            },
          });
          const sale = { saleId, tally: { accepted: 0, outcomeUnknown: 0, unanswered: 0, byCode: {} } };
          sales.push(sale);
          const crowd = new RoomCrowd(saleId, shoppers);
          await crowd.joinAll(port);
          const cpu0 = cpuSnapshot(cpuOf(api));
          const ramp = await phase(
            port,
            saleId,
            users,
            RAMP_S,
            (t) => costs.ceilingRps * (1 + (4 * t) / RAMP_S),
            sale.tally,
            () => undefined,
            crowd,
          );
          const figures = rampFigures(ramp.perSecond, RAMP_S);
          console.log(`room ${mode}: ${JSON.stringify(figures)} ${JSON.stringify(crowd.counts.shed)}`);
          return {
            ...figures,
            lateConnections: ramp.loop.lateConnections,
            apiCoresDuringRamp: round(cpuBetween(cpu0, cpuSnapshot(cpuOf(api))).api! / RAMP_S, 2),
            generatorCoresDuringRamp: round(ramp.generatorCpuSeconds / RAMP_S, 2),
            connectionsOpened: ramp.loop.opened,
            notSent: ramp.loop.notSent,
            shoppers: ROOM_SHOPPERS,
            shoppersLeftToBuy: crowd.remaining,
            ...crowd.counts,
            perSecond: ramp.perSecond.slice(0, RAMP_S).map(({ buyMs, ...s }) => ({ ...s, p99Ms: p99(buyMs) })),
          };
        });
      }
    }

    // 4. Invariants: every 202 persisted; no other order but of an OUTCOME_UNKNOWN or of a purchase
    // whose answer never came (so none of a shed one); no oversell.
    const checks: { saleId: string; accepted: number; outcomeUnknown: number; persisted: number; held: boolean }[] = [];
    for (const sale of sales) {
      const deadline = Date.now() + 180_000;
      let persisted = 0;
      for (;;) {
        persisted = Object.values(await statusCounts(DB, sale.saleId)).reduce((a, b) => a + b, 0);
        if (persisted >= sale.tally.accepted || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      // A little longer for the answers whose outcome was unknown.
      if (sale.tally.outcomeUnknown > 0) await new Promise((r) => setTimeout(r, 2000));
      persisted = Object.values(await statusCounts(DB, sale.saleId)).reduce((a, b) => a + b, 0);
      const held =
        persisted >= sale.tally.accepted &&
        persisted <= sale.tally.accepted + sale.tally.outcomeUnknown + sale.tally.unanswered &&
        persisted <= STOCK;
      checks.push({ saleId: sale.saleId, ...sale.tally, persisted, held });
    }
    const invariantsHeld = checks.every((c) => c.held);
    if (flags['room-only']) {
      console.log(JSON.stringify({ invariantsHeld, checks, withRoom }, null, 1));
      return;
    }

    const file = writeResult('overload', 'bench:overload', {
      machine: {
        cores: 2,
        loadAverageAtStart: loadAtStart,
        loadAverageAtEnd: loadavg().map((l) => round(l, 2)),
      },
      generator:
        'open loop at a fixed rate (rising linearly 1x..5x the ceiling), in the bench process, not pinned; latency from when a request was due',
      rampSeconds: RAMP_S,
      warmConnections: WARM_CONNECTIONS,
      purchaseShare: SHARE,
      settings: flags.env ?? [],
      ceilingRps: costs.ceilingRps,
      purchaseOnlyRps: costs.purchaseRps,
      shedShareOfPinnedRun: shed.shedShare,
      invariantsHeld,
      invariants: checks,
      ...modes,
      ...(flags['no-room']
        ? {}
        : { withRoom: { shoppers: ROOM_SHOPPERS, admitPerSecond: ROOM_RATE, maxActive: ROOM_SHOPPERS, ...withRoom } }),
    });
    console.log(`invariants held: ${invariantsHeld}; written ${file}`);
  } finally {
    for (const api of apis) await stopProc(api);
    await stopProc(worker);
    await proxy.stop();
    await redis.dispose();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
