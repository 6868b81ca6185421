/**
 * `npm run bench:scalpers [-- --quick] [--honest 1000] [--scalper-accounts 200] [--scalper-addresses 5]
 *   [--stock 500] [--per-address-cap 2] [--difficulty 10000] [--admit-per-second 200] [--lead 3]`
 *
 * The scalper simulation of issue 22: honest shoppers (one account, one address and one device
 * each) and one scalper (many accounts spread over a few addresses, a fresh device id per
 * account: device ids are hints, a script lies), all joining a sale's waiting room before its
 * start through the HTTP API (client addresses given by X-Forwarded-For from a trusted loopback
 * proxy), each solving its challenge; then everyone polls and buys as soon as admitted. Stock
 * `--stock`, one unit per shopper. The same run on two sales: antiBot mode `enforce`, then `log`.
 *
 * Per mode: units the scalper bought, units honest shoppers bought, whether honest shoppers were
 * admitted in fair order (none shadowed or refused, and admitted in the order the room's queue
 * holds them: a prefix of it, each admission no earlier than the one before it), and the API's CPU
 * spent checking proofs (flash_bots_verify_cpu_seconds_total). invariantsHeld: in both runs no
 * oversell, at most one unit per shopper, every order bought with an admission, no shadowed
 * identity admitted, a reused / missing / another shopper's admission refused.
 *
 * The challenges' difficulty is low here (`--difficulty`, default 10,000) so the bench's own
 * client can solve 2,400 of them; checking a proof costs the server the same at any difficulty.
 * Writes bench/results/scalpers-<stamp>.json: { enforce, log, scalperAddresses, perAddressCap,
 * invariantsHeld }.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { solve } from '../src/bots/challenge.js';
import {
  API_NODE_FLAGS,
  clearRedis,
  databaseUrl,
  freePort,
  freshDatabase,
  productionEnv,
  query,
  REDIS_URL,
  ROOT,
  startNode,
  usersWithTokens,
  WORKER_NODE_FLAGS,
  type BenchUser,
  type Proc,
} from './support.js';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    honest: { type: 'string' },
    'scalper-accounts': { type: 'string' },
    'scalper-addresses': { type: 'string', default: '5' },
    stock: { type: 'string' },
    'per-address-cap': { type: 'string', default: '2' },
    difficulty: { type: 'string', default: '10000' },
    'admit-per-second': { type: 'string', default: '200' },
    lead: { type: 'string' },
    concurrency: { type: 'string', default: '32' },
  },
});
const QUICK = flags.quick!;
const HONEST = Number(flags.honest ?? (QUICK ? 200 : 1000));
const SCALPER_ACCOUNTS = Number(flags['scalper-accounts'] ?? (QUICK ? 40 : 200));
const SCALPER_ADDRESSES = Number(flags['scalper-addresses']);
const STOCK = Number(flags.stock ?? (QUICK ? 100 : 500));
const PER_ADDRESS_CAP = Number(flags['per-address-cap']);
const DIFFICULTY = Number(flags.difficulty);
const ADMIT_PER_SECOND = Number(flags['admit-per-second']);
/** Seconds between the last join and the start (the sale starts an hour out, moved to this once all joined). */
const LEAD_SECONDS = Number(flags.lead ?? 3);
const CONCURRENCY = Number(flags.concurrency);
const DB_NAME = 'flash_sale_bench_scalpers';
const SECRET = 'bench-scalpers-secret-bench-scalpers-secret';
const PREFIX = `fs_scalpers_${process.pid}`;
const QUEUE_PREFIX = `{fsq_scalpers_${process.pid}}`;

type Kind = 'honest' | 'scalper';
interface Identity {
  kind: Kind;
  user: BenchUser;
  ip: string;
  device: string;
  /** The room's answer to the join: admit (queued), shadow is invisible to the client. */
  joined: 'queued' | 'refused' | 'failed';
  state: string;
  queueToken: string | null;
  refreshAt: number;
  admission: { token: string; expiresAt: string } | null;
  /** When its admission was issued (ms, from expiresAt − claim window): the admission order. */
  admittedAt: number | null;
  bought: boolean;
}

interface ModeResult {
  scalperUnits: number;
  honestBought: number;
  honestAdmittedInFairOrder: boolean;
  verifyCpuMicros: number;
}

const CLAIM_SECONDS = 60;

function headers(id: Identity, extra: Record<string, string> = {}): Record<string, string> {
  return {
    authorization: `Bearer ${id.user.token}`,
    'x-forwarded-for': id.ip,
    'device-id': id.device,
    ...extra,
  };
}

async function call(
  base: string,
  method: string,
  url: string,
  h: Record<string, string>,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(`${base}${url}`, {
    method,
    headers: body === undefined ? h : { ...h, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: res.headers };
}

/** Runs `task` over `items`, `limit` at a time. */
async function pool<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await task(items[next++]!);
    }),
  );
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

async function verifyCpuSeconds(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const m = /^flash_bots_verify_cpu_seconds_total\s+([0-9.e+-]+)$/m.exec(text);
  return m ? Number(m[1]) : 0;
}

async function createSale(
  base: string,
  admin: BenchUser,
  mode: 'enforce' | 'log',
): Promise<{ id: string; startsAt: number }> {
  const startsAt = Date.now() + 3600_000;
  const created = await call(
    base,
    'POST',
    '/admin/sales',
    { authorization: `Bearer ${admin.token}` },
    {
      name: `scalpers ${mode}`,
      sku: `SCALP-${mode.toUpperCase()}`,
      price: 1000,
      stock: STOCK,
      perUserLimit: 1,
      startsAt: new Date(startsAt).toISOString(),
      endsAt: new Date(startsAt + 7200_000).toISOString(),
      waitingRoom: {
        admitPerSecond: ADMIT_PER_SECOND,
        maxActive: STOCK * 2,
        claimSeconds: CLAIM_SECONDS,
        prequeueOpensAt: new Date(Date.now()).toISOString(),
        antiBot: {
          mode,
          difficulty: DIFFICULTY,
          perAddress: { limit: PER_ADDRESS_CAP, effect: 'shadow' },
        },
      },
    },
  );
  if (created.status !== 201) throw new Error(`sale not created: ${JSON.stringify(created.body)}`);
  const id = created.body.id as string;
  const heated = await call(base, 'POST', `/admin/sales/${id}/preheat`, { authorization: `Bearer ${admin.token}` });
  if (heated.status !== 200) throw new Error(`preheat failed: ${JSON.stringify(heated.body)}`);
  return { id, startsAt };
}

async function join(base: string, saleId: string, id: Identity): Promise<void> {
  const got = await call(base, 'GET', `/sales/${saleId}/queue/challenge`, headers(id));
  if (got.status !== 200) throw new Error(`challenge: ${got.status} ${JSON.stringify(got.body)}`);
  const extra: Record<string, string> = {};
  if (got.body.required) {
    const c = got.body as unknown as { challenge: string; salt: string; hash: string; maxNumber: number };
    extra['join-proof'] = `${c.challenge}:${solve(c)}`;
  }
  const answer = await call(base, 'POST', `/sales/${saleId}/queue`, headers(id, extra));
  if (answer.status === 200 || answer.status === 201) {
    id.joined = 'queued';
    take(id, answer.body);
  } else if (answer.body.code === 'JOIN_REFUSED') {
    id.joined = 'refused';
  } else {
    id.joined = 'failed';
    throw new Error(`join: ${answer.status} ${JSON.stringify(answer.body)}`);
  }
}

function take(id: Identity, view: Record<string, unknown>): void {
  id.state = view.state as string;
  id.queueToken = (view.queueToken as string | null | undefined) ?? id.queueToken;
  id.refreshAt = Date.now() + Math.min(2, Math.max(0.25, Number(view.refreshAfterSeconds ?? 1))) * 1000;
  const admission = view.admission as Identity['admission'];
  if (admission && !id.admission) {
    id.admission = admission;
    id.admittedAt = new Date(admission.expiresAt).getTime() - CLAIM_SECONDS * 1000;
  }
}

const FINAL = new Set(['sold_out', 'closed', 'left', 'expired', 'full']);

/**
 * Polls and buys until every identity is done; right after the first purchase (stock left),
 * `probe` runs once with that buyer.
 */
async function buyAll(
  base: string,
  saleId: string,
  people: Identity[],
  { deadline, probe }: { deadline: number; probe: (buyer: Identity) => Promise<void> },
): Promise<number> {
  let accepted = 0;
  let probed: Promise<void> | null = null;
  const live = () => people.filter((p) => p.joined === 'queued' && !p.bought && !FINAL.has(p.state));
  while (Date.now() < deadline) {
    const todo = live();
    if (todo.length === 0) break;
    const due = todo.filter((p) => p.admission !== null || Date.now() >= p.refreshAt);
    await pool(due, CONCURRENCY, async (p) => {
      if (p.admission && !p.bought) {
        const bought = await call(
          base,
          'POST',
          `/sales/${saleId}/orders`,
          headers(p, { 'admission-token': p.admission.token }),
          { quantity: 1 },
        );
        if (bought.status === 202) {
          accepted++;
          p.bought = true;
          probed ??= probe(p);
          await probed;
          return;
        }
        if (bought.body.code === 'SOLD_OUT' || bought.body.code === 'SALE_NOT_ACTIVE') p.state = 'sold_out';
        else throw new Error(`purchase: ${bought.status} ${JSON.stringify(bought.body)}`);
        return;
      }
      const h = headers(p, p.queueToken ? { 'queue-token': p.queueToken } : {});
      const polled = await call(base, 'GET', `/sales/${saleId}/queue`, h);
      if (polled.status === 200) take(p, polled.body);
      else if (polled.body.code === 'QUEUE_CLOSED') p.state = 'closed';
      else throw new Error(`poll: ${polled.status} ${JSON.stringify(polled.body)}`);
    });
    if (due.length === 0) await new Promise((r) => setTimeout(r, 50));
  }
  return accepted;
}

async function runMode(
  base: string,
  redis: Redis,
  admin: BenchUser,
  mode: 'enforce' | 'log',
  honest: BenchUser[],
  scalper: BenchUser[],
): Promise<{ result: ModeResult; invariants: Record<string, boolean> }> {
  const people: Identity[] = [
    ...honest.map((user, i) => ({
      kind: 'honest' as const,
      user,
      ip: `10.${(i >> 8) & 255}.${i & 255}.${1 + (i % 200)}`,
      device: `honest-device-${i}`,
    })),
    ...scalper.map((user, i) => ({
      kind: 'scalper' as const,
      user,
      ip: `172.16.${i % SCALPER_ADDRESSES}.9`,
      device: randomUUID(),
    })),
  ].map((p) => ({
    ...p,
    joined: 'failed' as const,
    state: 'none',
    queueToken: null,
    refreshAt: 0,
    admission: null,
    admittedAt: null,
    bought: false,
  }));
  const sale = await createSale(base, admin, mode);
  const cpuBefore = await verifyCpuSeconds(base);
  const joinStarted = Date.now();
  await pool(shuffle([...people]), CONCURRENCY, (p) => join(base, sale.id, p));
  const cpuAfter = await verifyCpuSeconds(base);
  console.log(`[${mode}] ${people.length} joins in ${((Date.now() - joinStarted) / 1000).toFixed(1)} s`);
  // everyone is in the pre-queue: the sale starts in LEAD_SECONDS
  const startsAt = Date.now() + LEAD_SECONDS * 1000;
  const moved = await call(
    base,
    'PATCH',
    `/admin/sales/${sale.id}`,
    { authorization: `Bearer ${admin.token}` },
    { startsAt: new Date(startsAt).toISOString() },
  );
  if (moved.status !== 200) throw new Error(`start not moved: ${JSON.stringify(moved.body)}`);
  // the room's order: waiting shoppers by score (a uniform draw per pre-queue joiner)
  const roomKey = `${PREFIX}:{${sale.id}}:room`;
  const order = await redis.zrange(`${roomKey}:q`, '0', '-1');
  const shadowed = new Set(await redis.zrange(`${roomKey}:shadow`, '0', '-1'));
  await new Promise((r) => setTimeout(r, Math.max(0, startsAt - Date.now())));
  // probes, while stock is left: an admission reused, a purchase without one, another shopper's admission
  const refusedWith: Record<'reuse' | 'none' | 'foreign', { status: number; code: unknown }> = {
    reuse: { status: 0, code: null },
    none: { status: 0, code: null },
    foreign: { status: 0, code: null },
  };
  const probe = async (buyer: Identity): Promise<void> => {
    const other = people.find((p) => p.kind === 'honest' && p !== buyer)!;
    const path = `/sales/${sale.id}/orders`;
    const token = { 'admission-token': buyer.admission!.token };
    for (const [name, who, h] of [
      ['reuse', buyer, token],
      ['none', other, {}],
      ['foreign', other, token],
    ] as const) {
      const answer = await call(base, 'POST', path, headers(who, h), { quantity: 1 });
      refusedWith[name] = { status: answer.status, code: answer.body.code };
    }
  };
  const accepted = await buyAll(base, sale.id, people, { deadline: Date.now() + 120_000, probe });

  // orders persisted
  const deadline = Date.now() + 60_000;
  let rows: { user_id: string; n: number }[] = [];
  while (Date.now() < deadline) {
    rows = await query<{ user_id: string; n: number }>(
      databaseUrl(DB_NAME),
      `SELECT user_id, count(*)::int AS n FROM orders WHERE sale_id = $1 AND status NOT IN ('CANCELLED', 'FAILED') GROUP BY user_id`,
      [sale.id],
    );
    if (rows.reduce((s, r) => s + r.n, 0) >= accepted) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const byUser = new Map(rows.map((r) => [r.user_id, r.n]));
  const units = (kind: Kind) =>
    people.filter((p) => p.kind === kind).reduce((s, p) => s + (byUser.get(p.user.id) ?? 0), 0);

  // fair order: no honest shopper shadowed or refused; admitted honest shoppers are a prefix of
  // the room's order (over honest shoppers) and were admitted no earlier than those before them
  const honestIds = new Set(honest.map((u) => u.id));
  const byId = new Map(people.map((p) => [p.user.id, p]));
  const honestOrder = order.filter((id) => honestIds.has(id)).map((id) => byId.get(id)!);
  const firstNotAdmitted = honestOrder.findIndex((p) => p.admittedAt === null);
  const prefix = firstNotAdmitted === -1 ? honestOrder : honestOrder.slice(0, firstNotAdmitted);
  const prefixOnly = honestOrder.slice(prefix.length).every((p) => p.admittedAt === null);
  const monotone = prefix.every((p, i) => i === 0 || p.admittedAt! >= prefix[i - 1]!.admittedAt!);
  const honestSpared = people.every((p) => p.kind !== 'honest' || (p.joined === 'queued' && !shadowed.has(p.user.id)));
  const honestAdmittedInFairOrder =
    honestSpared && honestOrder.length === honest.length && prefixOnly && monotone && prefix.length > 0;

  const total = rows.reduce((s, r) => s + r.n, 0);
  const invariants = {
    noOversell: total <= STOCK,
    onePerShopper: rows.every((r) => r.n <= 1),
    everyOrderAdmitted: total === accepted,
    shadowedNeverAdmitted: people.every((p) => !shadowed.has(p.user.id) || p.admission === null),
    reuseRefused: refusedWith.reuse.code === 'ADMISSION_USED',
    missingRefused: refusedWith.none.code === 'ADMISSION_REQUIRED',
    foreignRefused: refusedWith.foreign.code === 'ADMISSION_INVALID',
  };
  const result: ModeResult = {
    scalperUnits: units('scalper'),
    honestBought: units('honest'),
    honestAdmittedInFairOrder,
    verifyCpuMicros: Math.round((cpuAfter - cpuBefore) * 1e6),
  };
  console.log(`[${mode}]`, result, {
    shadowed: shadowed.size,
    refused: people.filter((p) => p.joined === 'refused').length,
    admitted: people.filter((p) => p.admission).length,
    sold: total,
    probes: refusedWith,
  });
  const bad = Object.entries(invariants).filter(([, ok]) => !ok);
  if (bad.length)
    console.log(
      `[${mode}] invariants broken:`,
      bad.map(([name]) => name),
    );
  return { result, invariants };
}

async function main(): Promise<void> {
  const load = loadavg()[0]!;
  console.log(
    `scalpers: ${HONEST} honest, ${SCALPER_ACCOUNTS} scalper accounts on ${SCALPER_ADDRESSES} addresses, stock ${STOCK}; load ${load.toFixed(1)} on ${cpus().length} cores`,
  );
  const db = await freshDatabase(DB_NAME);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = productionEnv(
    { db, secret: SECRET, prefix: PREFIX, queuePrefix: QUEUE_PREFIX, port },
    {
      LOG_REQUESTS: 'false',
      TRUST_PROXY: 'loopback',
      BOTS_CHALLENGE_LIMIT_PER_IP: '0',
      RATE_LIMIT_USER_PER_SECOND: '1000',
    },
  );
  const procs: Proc[] = [];
  const redis = new Redis(REDIS_URL);
  try {
    procs.push(
      await startNode('scalpers-api', [...API_NODE_FLAGS, path.join(ROOT, 'dist/main.js')], env, /API listening/),
    );
    procs.push(
      await startNode(
        'scalpers-worker',
        [...WORKER_NODE_FLAGS, path.join(ROOT, 'dist/worker.js')],
        env,
        /worker ready/,
      ),
    );
    const [admin] = await usersWithTokens(db, 1, SECRET, 'ADMIN');
    const honest = await usersWithTokens(db, HONEST, SECRET);
    const scalper = await usersWithTokens(db, SCALPER_ACCOUNTS, SECRET);
    const enforce = await runMode(base, redis, admin!, 'enforce', honest, scalper);
    const log = await runMode(base, redis, admin!, 'log', honest, scalper);
    const invariantsHeld = [enforce, log].every((r) => Object.values(r.invariants).every(Boolean));
    const record = {
      enforce: enforce.result,
      log: log.result,
      scalperAddresses: SCALPER_ADDRESSES,
      perAddressCap: PER_ADDRESS_CAP,
      invariantsHeld,
    };
    const target = SCALPER_ADDRESSES * PER_ADDRESS_CAP;
    console.log(
      `enforce: scalper bought ${enforce.result.scalperUnits} (target ≤ ${target}: ${enforce.result.scalperUnits <= target ? 'met' : 'MISSED'}); log: ${log.result.scalperUnits}`,
    );
    const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 16);
    const dir = path.join(ROOT, 'bench/results');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `scalpers-${stamp}.json`);
    writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
    console.log(`wrote ${path.relative(ROOT, file)} (load average at the end ${loadavg()[0]!.toFixed(1)})`);
  } finally {
    for (const p of procs.reverse()) await p.stop();
    redis.disconnect();
    await clearRedis([PREFIX, QUEUE_PREFIX]);
    await query(databaseUrl('postgres'), `DROP DATABASE IF EXISTS "${DB_NAME}" WITH (FORCE)`);
  }
}

await main();
