/**
 * `npm run bench:api [-- --requests N] [--connections N] [--repeat N] [--sold-out] [--drain] [--profile] [--node-options "..."]
 *                    [--env KEY=VALUE ...]`
 *
 * The API's own CPU per purchase request, measured apart from everything else:
 * only the built API runs (no worker: admitted batches wait in Redis), on a
 * Redis of its own, against a sale with stock for every request; a warm-up
 * of a fifth of the requests first, then CPU µs per request of the API (from
 * /proc) over the rest. With --sold-out the sale is sold out first, so every
 * request takes the sold-out shortcut. With --profile, a V8 CPU profile of the
 * API process (warm-up included; bench/results/profiles/). With --drain, a
 * worker is started afterwards on the backlog the API admitted (every
 * request, warm-up included) and its CPU, Redis's and Postgres's per order
 * are measured until every order is AWAITING_PAYMENT: the worker's cost per
 * order with nothing else running (profiled too with --profile).
 * With --repeat N, each shopper sends N purchases (requests / N users, a
 * per-user limit of N, the shoppers taken in turn): a crowd that retries, as
 * in a sale, where a token comes back many times. Each run has a database of
 * its own (dropped at the end), so two runs on one machine do not collide.
 * The figures of docs/benchmarks.md's "where the API's time goes" come from here.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { OwnRedis } from '../test/support/redis-server.js';
import { createUsersSignedWith } from '../test/support/users.js';
import { blast, postRequest } from './blast.js';
import { cpuBetween, cpuSnapshot, pidsOf, startNode, stopProc, type Proc } from './procs.js';
import { databaseUrl, freePort, freshDatabase, query } from './support.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const { values: flags } = parseArgs({
  options: {
    requests: { type: 'string', default: '60000' },
    connections: { type: 'string', default: '100' },
    repeat: { type: 'string', default: '1' },
    /** A setting for the API and the worker (repeatable), e.g. --env TOKEN_CACHE_SIZE=0. */
    env: { type: 'string', multiple: true },
    'sold-out': { type: 'boolean', default: false },
    drain: { type: 'boolean', default: false },
    'worker-node-options': { type: 'string', default: '' },
    profile: { type: 'boolean', default: false },
    'node-options': { type: 'string', default: '--max-old-space-size=256 --max-semi-space-size=8' },
    root: { type: 'string' },
  },
});
const REQUESTS = Number(flags.requests);
const BUILD = path.resolve(flags.root ?? ROOT);
const REPEAT = Math.max(1, Math.min(1000, Number(flags.repeat)));
const DB_NAME = `flash_sale_apicost_${process.pid}`;
const DB = databaseUrl(DB_NAME);
const SECRET = randomBytes(32).toString('hex');

async function fire(port: number, path: string, tokens: string[]): Promise<Record<number, number>> {
  const { statuses } = await blast(
    port,
    tokens.map((t) => postRequest(path, t)),
    Number(flags.connections),
  );
  return statuses;
}

async function main(): Promise<void> {
  await freshDatabase(DB_NAME, { root: BUILD });
  const redis = new OwnRedis();
  await redis.start();
  const port = await freePort();
  const env = {
    NODE_ENV: 'production',
    DATABASE_URL: DB,
    REDIS_URL: redis.url,
    JWT_SECRET: SECRET,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_REQUESTS: 'true',
    BACKLOG_CAP: '10000000',
    ADMIN_EMAIL: 'cost-admin@bench.test',
    ADMIN_PASSWORD: 'cost-admin-password',
    ...Object.fromEntries((flags.env ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])),
  };
  const api = await startNode(
    'api-cost',
    [
      ...flags['node-options']!.split(' ').filter(Boolean),
      ...(flags.profile ? ['--cpu-prof', `--cpu-prof-dir=${path.join(ROOT, 'bench/results/profiles')}`] : []),
      path.join(BUILD, 'dist/main.js'),
    ],
    env,
    /API listening/,
  );
  let worker: Proc | undefined;
  const url = `http://127.0.0.1:${port}`;
  try {
    const users = (await createUsersSignedWith(DB, Math.ceil(REQUESTS / REPEAT), SECRET)).map((u) => u.token);
    const tokens = Array.from({ length: REQUESTS }, (_, i) => users[i % users.length]!);
    const login = await fetch(`${url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'cost-admin@bench.test', password: 'cost-admin-password' }),
    });
    const { accessToken } = (await login.json()) as { accessToken: string };
    const soldOut = flags['sold-out'] ?? false;
    const created = await fetch(`${url}/admin/sales`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
      body: JSON.stringify({
        name: 'cost',
        sku: 'COST',
        price: 100,
        stock: soldOut ? 1 : REQUESTS,
        perUserLimit: REPEAT,
        startsAt: new Date(Date.now() - 1000).toISOString(),
        endsAt: new Date(Date.now() + 3600_000).toISOString(),
      }),
    });
    const { id } = (await created.json()) as { id: string };
    await fetch(`${url}/admin/sales/${id}/preheat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${accessToken}` },
    });
    if (soldOut) await fire(port, `/sales/${id}/orders`, tokens.slice(0, 1));
    const warm = Math.floor(REQUESTS / 5);
    await fire(port, `/sales/${id}/orders`, tokens.slice(0, warm));
    const components = { api: () => [api.child.pid!] };
    const before = cpuSnapshot(components);
    const started = Date.now();
    const statuses = await fire(port, `/sales/${id}/orders`, tokens.slice(warm));
    const seconds = (Date.now() - started) / 1000;
    const cpu = cpuBetween(before, cpuSnapshot(components)).api!;
    const n = REQUESTS - warm;
    console.log(
      `API CPU per ${soldOut ? 'sold-out' : 'purchase'} request: ${((cpu * 1e6) / n).toFixed(1)} µs ` +
        `(${n} requests in ${seconds.toFixed(1)} s, ${Math.round(n / seconds)} req/s, answers ${JSON.stringify(statuses)}, ` +
        `API ${(cpu / seconds).toFixed(2)} cores, build ${BUILD})`,
    );
    if (flags.drain && !soldOut) {
      const drain = {
        worker: () => (worker ? [worker.child.pid!] : []),
        redis: () => pidsOf(new RegExp(`redis-server .*:${redis.port}\\b`)),
        postgres: () => pidsOf(new RegExp(`^postgres: .*(${DB_NAME}|walwriter|checkpointer|background writer)`)),
      };
      const orders = REQUESTS + (soldOut ? 1 : 0);
      const cpu0 = cpuSnapshot(drain);
      const t0 = Date.now();
      worker = await startNode(
        'worker-cost',
        [
          ...flags['worker-node-options']!.split(' ').filter(Boolean),
          ...(flags.profile ? ['--cpu-prof', `--cpu-prof-dir=${path.join(ROOT, 'bench/results/profiles')}`] : []),
          path.join(BUILD, 'dist/worker.js'),
        ],
        { ...env, WORKER_QUEUES: 'ops,promotions,orders,inventory,timeouts' },
        /worker ready/,
      );
      for (;;) {
        const [row] = await query(DB, `SELECT count(*)::int AS n FROM orders WHERE status = 'AWAITING_PAYMENT'`);
        if ((row!.n as number) >= orders) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const drained = (Date.now() - t0) / 1000;
      const used = cpuBetween(cpu0, cpuSnapshot(drain));
      console.log(
        `drain alone: ${orders} orders to AWAITING_PAYMENT in ${drained.toFixed(1)} s (${Math.round(orders / drained)}/s, worker start included); ` +
          `CPU µs per order: ${Object.entries(used)
            .map(([k, v]) => `${k} ${((v * 1e6) / orders).toFixed(1)}`)
            .join(', ')}`,
      );
    }
  } finally {
    if (worker) await stopProc(worker);
    await stopProc(api);
    await redis.dispose();
    await query(databaseUrl('postgres'), `DROP DATABASE IF EXISTS "${DB_NAME}" WITH (FORCE)`).catch(() => undefined);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
