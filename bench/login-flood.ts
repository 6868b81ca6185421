/**
 * `npm run bench:login-flood [-- --rate 150] [--purchases 300]`
 *
 * What a login flood does to the buy path. The built API runs alone in its
 * own process with the login throttles off (every attempt costs a scrypt: an
 * attacker spread over many accounts and addresses), once with password
 * hashing bounded as configured by default (PASSWORD_HASH_CONCURRENCY=1,
 * PASSWORD_HASH_QUEUE=32) and once unbounded as before (libuv's 4 threads,
 * no cap on the line). Each time: purchase latency one after another without
 * the flood, then again while another process sends `rate` wrong-password
 * logins a second; the API's CPU and the logins' answers.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  API_NODE_FLAGS,
  clearRedis,
  freePort,
  freshDatabase,
  openSale,
  percentile,
  productionEnv,
  ROOT,
  round,
  startNode,
  usersWithTokens,
  type BenchUser,
} from './support.js';

const { values: flags } = parseArgs({
  options: { rate: { type: 'string', default: '150' }, purchases: { type: 'string', default: '300' } },
});
const RATE = Number(flags.rate);
const PURCHASES = Number(flags.purchases);
const PREFIX = 'fsflood';
const QUEUE_PREFIX = '{fsfloodq}';

const summary = (ms: number[]) => ({
  p50: round(percentile(ms, 50)),
  p95: round(percentile(ms, 95)),
  p99: round(percentile(ms, 99)),
  max: round(Math.max(...ms)),
});

async function run(label: string, hashConcurrency: number, hashQueue: number) {
  const db = await freshDatabase('flash_sale_flood');
  await clearRedis([PREFIX, QUEUE_PREFIX]);
  const port = await freePort();
  const secret = randomBytes(32).toString('hex');
  const api = await startNode(
    'flood-api',
    [...API_NODE_FLAGS, path.join(ROOT, 'dist/main.js')],
    productionEnv(
      { db, secret, prefix: PREFIX, queuePrefix: QUEUE_PREFIX, port },
      {
        LOGIN_LIMIT_PER_ACCOUNT: '0',
        LOGIN_LIMIT_PER_IP: '0',
        PASSWORD_HASH_CONCURRENCY: String(hashConcurrency),
        PASSWORD_HASH_QUEUE: String(hashQueue),
        RATE_LIMIT_USER_PER_SECOND: '1000',
      },
    ),
    /API listening/,
  );
  const base = `http://127.0.0.1:${port}`;
  try {
    const [admin] = await usersWithTokens(db, 1, secret, 'ADMIN');
    const shoppers = await usersWithTokens(db, 50, secret);
    const saleId = await openSale(base, admin!, { stock: 1_000_000, perUserLimit: 1000 });
    await fetch(`${base}/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'target@flood.test', password: 'right-password', phone: '+14155550123' }),
    });
    const purchases = async (count: number): Promise<number[]> => {
      const ms: number[] = [];
      for (let i = 0; i < count; i++) {
        const user: BenchUser = shoppers[i % shoppers.length]!;
        const started = performance.now();
        const res = await fetch(`${base}/sales/${saleId}/orders`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${user.token}` },
          body: '{}',
        });
        await res.arrayBuffer();
        if (res.status !== 202) throw new Error(`purchase answered ${res.status}`);
        ms.push(performance.now() - started);
      }
      return ms;
    };
    await purchases(50); // warm-up
    const quiet = await purchases(PURCHASES);

    const flooder = spawn(
      process.execPath,
      [path.join(ROOT, 'dist-bench/bench/login-flooder.js'), base, String(RATE)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let report = '';
    flooder.stdout.on('data', (chunk: Buffer) => (report += chunk.toString()));
    const flooderDone = new Promise((resolve) => flooder.once('exit', resolve));
    await new Promise((r) => setTimeout(r, 1000));
    const cpuBefore = api.cpuSeconds();
    const started = performance.now();
    const flooded = await purchases(PURCHASES);
    const seconds = (performance.now() - started) / 1000;
    const cores = round((api.cpuSeconds() - cpuBefore) / seconds, 2);
    flooder.kill('SIGTERM');
    await flooderDone;
    return {
      label,
      quiet: summary(quiet),
      flood: summary(flooded),
      apiCores: cores,
      logins: JSON.parse(report) as Record<string, number>,
    };
  } finally {
    await api.stop();
  }
}

async function main(): Promise<void> {
  console.log(
    `[flood] ${RATE} wrong-password logins a second; ${PURCHASES} purchases one after another, without and with it`,
  );
  const results = [
    await run('bounded (1 at once, 32 waiting)', 1, 32),
    await run('unbounded (4 threads, no cap)', 4, 1_000_000),
  ];
  console.log(
    '\n| hashing | purchase p50/p95/p99/max ms, quiet | during the flood | API cores in the flood | logins answered |',
  );
  console.log('| --- | --- | --- | --- | --- |');
  for (const r of results) {
    const q = r.quiet;
    const f = r.flood;
    const logins = Object.entries(r.logins)
      .map(([status, n]) => `${status}: ${n}`)
      .join(', ');
    console.log(
      `| ${r.label} | ${q.p50} / ${q.p95} / ${q.p99} / ${q.max} | ${f.p50} / ${f.p95} / ${f.p99} / ${f.max} | ${r.apiCores} | ${logins} |`,
    );
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
