// Server CPU per purchase request, for comparing builds of the API (e.g. this
// branch against the one it started from). For each build it starts the API
// pinned to CPU 0, makes a sale with one unit and sells it, then loads
//   sold-out: POST /sales/:id/orders answered 409 by the sold-out shortcut (a Fastify hook)
//   full:     the same with an Idempotency-Key: Nest's pipeline, guard, validation, one Lua call (202 replay)
// at a fixed rate with autocannon pinned to CPU 1, and divides the API's CPU
// time (/proc/<pid>/stat, all threads) by the requests answered. Runs are
// interleaved across builds; the median of --runs is printed.
//
//   node scripts/request-cost.mjs --build base=/tmp/base/dist --build ops=dist [--runs 3] [--rate 6000] [--seconds 5]
//   (a build may add settings: --build quiet=dist,LOG_REQUEST_CONTEXT=false,LOG_REQUESTS=false)
//
// Needs Postgres and Redis at DATABASE_URL/REDIS_URL (own database request_cost, own key prefixes)
// and `taskset` (util-linux). Do not run it while the machine is busy with other load tests.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';

const { values } = parseArgs({
  options: {
    build: { type: 'string', multiple: true },
    runs: { type: 'string', default: '3' },
    rate: { type: 'string', default: '6000' },
    'full-rate': { type: 'string', default: '2500' },
    seconds: { type: 'string', default: '5' },
    port: { type: 'string', default: '3391' },
    env: { type: 'string', multiple: true, default: [] },
  },
});
const builds = (values.build ?? []).map((b) => {
  const [name, rest] = [b.slice(0, b.indexOf('=')), b.slice(b.indexOf('=') + 1)];
  const [dist, ...settings] = rest.split(',');
  return {
    name,
    dist,
    env: Object.fromEntries(settings.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])),
  };
});
if (builds.length === 0) throw new Error('--build name=path/to/dist at least once');
const PORT = Number(values.port);
const URL_ = `http://127.0.0.1:${PORT}`;
const base = new URL(process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/flash_sale');
base.pathname = '/request_cost';
const extraEnv = Object.fromEntries(
  values.env.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
);

const ENV = {
  PATH: process.env.PATH,
  NODE_ENV: 'production',
  DATABASE_URL: base.toString(),
  REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  JWT_SECRET: 'request-cost-secret-request-cost-secret-0',
  PORT: String(PORT),
  HOST: '127.0.0.1',
  LOG_REQUESTS: 'true',
  RATE_LIMIT_USER_PER_SECOND: '100000000',
  WORKER_OPS_PORT: '0',
  SHUTDOWN_DRAIN_MS: '0',
  ADMIN_EMAIL: 'cost-admin@example.com',
  ADMIN_PASSWORD: 'cost-admin-password',
  ...extraEnv,
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const cpuTicks = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime, all threads
};
const TICK_US = 1e6 / 100; // USER_HZ

async function call(method, path, token, body, headers = {}) {
  const res = await fetch(`${URL_}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: await res.json().catch(() => ({})) };
}

async function startApi(dist, prefix, buildEnv) {
  const migrate = spawn(process.execPath, [`${dist}/migrate.js`, 'deploy'], { env: ENV, stdio: 'ignore' });
  await new Promise((r) => migrate.on('exit', r));
  const child = spawn('taskset', ['-c', '0', process.execPath, '--max-old-space-size=256', `${dist}/main.js`], {
    env: { ...ENV, ...buildEnv, REDIS_KEY_PREFIX: prefix, QUEUE_PREFIX: `{${prefix}q}` },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (let i = 0; i < 100; i++) {
    if (
      (await fetch(`${URL_}/health`).then(
        (r) => r.status,
        () => 0,
      )) === 200
    )
      return child;
    await sleep(200);
  }
  throw new Error('API did not start');
}

async function scenario(dist, prefix, buildEnv) {
  const api = await startApi(dist, prefix, buildEnv);
  const admin = (await call('POST', '/auth/login', null, { email: ENV.ADMIN_EMAIL, password: ENV.ADMIN_PASSWORD })).body
    .accessToken;
  const email = `shopper-${Date.now()}@example.com`;
  await call('POST', '/auth/register', null, { email, phone: '+14155550100', password: 'shopper-password' });
  const shopper = (await call('POST', '/auth/login', null, { email, password: 'shopper-password' })).body.accessToken;
  const sale = (
    await call('POST', '/admin/sales', admin, {
      name: 'cost',
      sku: 'COST-1',
      price: 100,
      stock: 1,
      perUserLimit: 1,
      startsAt: new Date(Date.now() - 1000).toISOString(),
      endsAt: new Date(Date.now() + 3600_000).toISOString(),
    })
  ).body;
  await call('POST', `/admin/sales/${sale.id}/preheat`, admin);
  const first = await call('POST', `/sales/${sale.id}/orders`, shopper, {}, { 'idempotency-key': 'cost-key' });
  if (first.status !== 202) throw new Error(`first purchase: ${JSON.stringify(first.body)}`);
  return { api, shopper, saleId: sale.id };
}

async function load({ api, shopper, saleId }, kind, rate) {
  const headers = { authorization: `Bearer ${shopper}`, 'content-type': 'application/json' };
  if (kind === 'full') headers['idempotency-key'] = 'cost-key';
  const expected = kind === 'full' ? 202 : 409;
  const opts = {
    url: `${URL_}/sales/${saleId}/orders`,
    method: 'POST',
    headers,
    body: '{}',
    connections: 50,
    overallRate: rate,
  };
  await autocannon({ ...opts, duration: 1 }); // warm up
  const before = cpuTicks(api.pid);
  const result = await autocannon({ ...opts, duration: Number(values.seconds) });
  const ticks = cpuTicks(api.pid) - before;
  const answered = result.statusCodeStats[expected]?.count ?? 0;
  if (answered < result.requests.total * 0.99) throw new Error(`${kind}: ${JSON.stringify(result.statusCodeStats)}`);
  return (ticks * TICK_US) / answered;
}

// autocannon itself runs on CPU 1.
spawn('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' });
const results = new Map(builds.map((b) => [b.name, { 'sold-out': [], full: [] }]));
for (let run = 0; run < Number(values.runs); run++) {
  for (const build of builds) {
    const state = await scenario(build.dist, `cost${run}${build.name.replace(/\W/g, '')}`, build.env);
    try {
      results.get(build.name)['sold-out'].push(await load(state, 'sold-out', Number(values.rate)));
      results.get(build.name).full.push(await load(state, 'full', Number(values['full-rate'])));
    } finally {
      state.api.kill('SIGKILL');
      await new Promise((r) => state.api.on('exit', r));
    }
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(
  `server CPU per request (µs), median of ${values.runs} interleaved runs; sold-out at ${values.rate}/s, full at ${values['full-rate']}/s`,
);
for (const [name, r] of results) {
  console.log(
    `${name.padEnd(24)} sold-out ${median(r['sold-out']).toFixed(1).padStart(6)} (${r['sold-out'].map((x) => x.toFixed(1)).join(', ')})` +
      `   full ${median(r.full).toFixed(1).padStart(6)} (${r.full.map((x) => x.toFixed(1)).join(', ')})`,
  );
}
