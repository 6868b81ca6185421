/**
 * `npm run bench:backlog [-- --orders 100000] [--connections 64] [--drain-seconds 300] [--snapshot] [--snapshot-at-mb N] [--env KEY=VALUE ...]`
 *
 * A worker started on a big backlog, as after a crash or behind a spike: an
 * API copy admits `--orders` purchases while no worker persists them (only
 * an `ops` worker runs, for the preheat), so they all wait in Redis; then one
 * worker with the production heap (WORKER_NODE_FLAGS) takes the whole
 * backlog. Reports its heap (sampled from its /metrics), RSS and how long the
 * drain took, or that it died. `--snapshot` adds
 * --heapsnapshot-near-heap-limit=1 (the snapshot lands in the OS temp dir).
 */
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { statusCounts } from '../test/support/buy.js';
import { OwnRedis } from '../test/support/redis-server.js';
import { blast, postRequest } from './blast.js';
import { startNode, stopProc, type Proc } from './procs.js';
import {
  API_NODE_FLAGS,
  databaseUrl,
  freePort,
  freshDatabase,
  openSale,
  round,
  usersWithTokens,
  WORKER_NODE_FLAGS,
  writeResult,
} from './support.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const { values: flags } = parseArgs({
  options: {
    orders: { type: 'string', default: '100000' },
    /** Connections of the admitting crowd: more in flight, bigger hand-off batches (jobs). */
    connections: { type: 'string', default: '64' },
    'drain-seconds': { type: 'string', default: '300' },
    snapshot: { type: 'boolean', default: false },
    /** A heap snapshot (SIGUSR2, in the OS temp dir) the first time the worker's heap reaches this many MB. */
    'snapshot-at-mb': { type: 'string' },
    db: { type: 'string', default: 'flash_sale_backlog' },
    /** Settings of the worker (and API) under test, on top of the bench's own. */
    env: { type: 'string', multiple: true },
  },
});
const SETTINGS = Object.fromEntries(
  (flags.env ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
);
const ORDERS = Number(flags.orders);
const DB = databaseUrl(flags.db);
const SECRET = randomBytes(32).toString('hex');

async function heapOf(port: number): Promise<{ used: number; total: number; rss: number } | undefined> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
    const read = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    return {
      used: read('nodejs_heap_size_used_bytes'),
      total: read('nodejs_heap_size_total_bytes'),
      rss: read('process_resident_memory_bytes'),
    };
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  await freshDatabase(flags.db);
  const redis = new OwnRedis();
  await redis.start();
  const users = await usersWithTokens(DB, 3000, SECRET);
  const [admin] = await usersWithTokens(DB, 1, SECRET, 'ADMIN');
  const baseEnv = {
    NODE_ENV: 'production',
    DATABASE_URL: DB,
    REDIS_URL: redis.url,
    JWT_SECRET: SECRET,
    REDIS_KEY_PREFIX: 'blb',
    QUEUE_PREFIX: '{blbq}',
    HOST: '127.0.0.1',
    LOG_REQUESTS: 'false',
    BACKLOG_CAP: '100000000',
    RATE_LIMIT_USER_PER_SECOND: '1000000',
    OVERLOAD_CONTROL: 'false',
    ...SETTINGS,
  };
  const procs: Proc[] = [];
  try {
    const opsWorker = await startNode(
      'backlog-ops-worker',
      [path.join(ROOT, 'dist/worker.js')],
      { ...baseEnv, WORKER_QUEUES: 'ops', WORKER_OPS_PORT: String(await freePort()) },
      /worker ready/,
    );
    procs.push(opsWorker);
    const port = await freePort();
    const api = await startNode(
      'backlog-api',
      [...API_NODE_FLAGS, path.join(ROOT, 'dist/main.js')],
      { ...baseEnv, PORT: String(port) },
      /API listening/,
    );
    procs.push(api);
    const saleId = await openSale(`http://127.0.0.1:${port}`, admin!, { stock: 10_000_000, perUserLimit: 1000 });
    const requests = Array.from({ length: ORDERS }, (_, i) =>
      postRequest(`/sales/${saleId}/orders`, users[i % users.length]!.token),
    );
    const admitted = await blast(port, requests, Number(flags.connections));
    const accepted = admitted.statuses[202] ?? 0;
    console.log(`admitted ${accepted} in ${round(admitted.seconds)} s (${JSON.stringify(admitted.statuses)})`);
    await stopProc(api);
    await stopProc(opsWorker);

    const opsPort = await freePort();
    const snapshotAtMb = flags['snapshot-at-mb'] ? Number(flags['snapshot-at-mb']) : undefined;
    const workerFlags = [
      ...WORKER_NODE_FLAGS,
      ...(flags.snapshot ? ['--heapsnapshot-near-heap-limit=1'] : []),
      ...(snapshotAtMb ? ['--heapsnapshot-signal=SIGUSR2'] : []),
    ];
    let snapshotTaken = false;
    const started = Date.now();
    const worker = await startNode(
      'backlog-worker',
      [...workerFlags, path.join(ROOT, 'dist/worker.js')],
      {
        ...baseEnv,
        WORKER_QUEUES: 'ops,promotions,orders,inventory,timeouts',
        PROCESS_PRIORITY: '10',
        WORKER_OPS_PORT: String(opsPort),
      },
      /worker ready/,
    );
    procs.push(worker);
    const samples: { s: number; heapMb: number; rssMb: number; persisted: number }[] = [];
    const deadline = started + Number(flags['drain-seconds']) * 1000;
    let persisted = 0;
    let awaiting = 0;
    let died = false;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
      if (worker.child.exitCode !== null || worker.child.signalCode !== null) {
        died = true;
        break;
      }
      const heap = await heapOf(opsPort);
      const counts = await statusCounts(DB, saleId);
      persisted = Object.entries(counts)
        .filter(([status]) => status !== 'QUEUED')
        .reduce((sum, [, n]) => sum + n, 0);
      awaiting = counts.AWAITING_PAYMENT ?? 0;
      const sample = {
        s: round((Date.now() - started) / 1000),
        heapMb: round((heap?.used ?? NaN) / 2 ** 20),
        rssMb: round((heap?.rss ?? NaN) / 2 ** 20),
        persisted,
        awaiting,
      };
      samples.push(sample);
      if (snapshotAtMb && !snapshotTaken && sample.heapMb >= snapshotAtMb) {
        snapshotTaken = worker.child.kill('SIGUSR2');
        console.log(`heap snapshot asked at ${sample.heapMb} MB`);
      }
      console.log(JSON.stringify(sample));
      if (awaiting >= accepted) break;
    }
    const drainSeconds = round((Date.now() - started) / 1000);
    const peakHeapMb = Math.max(...samples.map((s) => s.heapMb).filter((n) => !Number.isNaN(n)));
    const result = {
      orders: ORDERS,
      accepted,
      admissionSeconds: round(admitted.seconds),
      workerNodeFlags: workerFlags,
      settings: flags.env ?? [],
      died,
      drained: awaiting >= accepted,
      drainSeconds,
      persisted,
      awaitingPayment: awaiting,
      peakHeapMb,
      peakRssMb: round(worker.peak() / 2 ** 20),
      samples,
      workerLog: worker.logFile,
      snapshotDir: flags.snapshot ? tmpdir() : undefined,
    };
    console.log(
      `${died ? 'worker DIED' : result.drained ? 'drained' : 'not drained'} after ${drainSeconds} s: ` +
        `${persisted}/${accepted} persisted, ${awaiting} awaiting payment, peak heap ${peakHeapMb} MB`,
    );
    writeResult('backlog', 'npm run bench:backlog', result);
  } finally {
    for (const p of procs.reverse()) await stopProc(p);
    await redis.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
