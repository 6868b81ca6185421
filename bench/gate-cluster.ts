/**
 * `npm run bench:gate-cluster [-- --drivers 4] [--inflight 64] [--seconds 5] [--only name,name]`
 *
 * Admissions per second of ONE sale, driving the gate directly (GateService,
 * the same Lua and the same bucket logic as the API, no HTTP), with several
 * driver processes each keeping `inflight` admissions in flight, every one by
 * a new shopper (limit 1, stock far above what a run sells, backlog cap off).
 * Scenarios, each on Redis servers the bench starts on its own ports:
 *
 * - `single`: one redis-server, the sale in 1 bucket (today's deployment);
 * - `cluster-k1`: a 3-master cluster, the sale in 1 bucket (one master works);
 * - `cluster-k3`: the same cluster, the sale split into 3 buckets (one per master);
 * - `replicas-k1`, `replicas-k3`: 3 masters with a replica each, no WAIT;
 * - `wait-k1`, `wait-k3`: the same with REDIS_WAIT_REPLICAS=1 (202 only once a replica holds it).
 *
 * Prints admissions/s and the CPU (cores busy) of the Redis servers and of the
 * drivers, and writes bench/results/gate-cluster-<stamp>.json. On a 2-core
 * machine everything shares two cores: read the CPU columns before the rate.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { GateAdmission } from '../src/gate/gate-admission.js';
import { GateLayout } from '../src/gate/gate-layout.js';
import { GateRebuild } from '../src/gate/gate-rebuild.js';
import { loadConfig, type AppConfig } from '../src/infra/config/app-config.js';
import { RedisService } from '../src/infra/redis/redis.module.js';
import { OwnRedisCluster } from '../test/support/redis-cluster.js';
import { OwnRedis } from '../test/support/redis-server.js';
import { cpuBetween, cpuSnapshot, pidsOf } from './procs.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const { values: flags } = parseArgs({
  options: {
    drivers: { type: 'string', default: '4' },
    inflight: { type: 'string', default: '64' },
    seconds: { type: 'string', default: '5' },
    only: { type: 'string', default: '' },
    // driver mode (internal)
    driver: { type: 'boolean', default: false },
    sale: { type: 'string', default: '' },
    'measure-from': { type: 'string', default: '0' },
    'measure-to': { type: 'string', default: '0' },
  },
});

interface Scenario {
  name: string;
  masters: number;
  replicas: number;
  cluster: boolean;
  buckets: number;
  wait: number;
}

const SCENARIOS: Scenario[] = [
  { name: 'single', masters: 1, replicas: 0, cluster: false, buckets: 1, wait: 0 },
  { name: 'cluster-k1', masters: 3, replicas: 0, cluster: true, buckets: 1, wait: 0 },
  { name: 'cluster-k3', masters: 3, replicas: 0, cluster: true, buckets: 3, wait: 0 },
  { name: 'replicas-k1', masters: 3, replicas: 1, cluster: true, buckets: 1, wait: 0 },
  { name: 'replicas-k3', masters: 3, replicas: 1, cluster: true, buckets: 3, wait: 0 },
  { name: 'wait-k1', masters: 3, replicas: 1, cluster: true, buckets: 1, wait: 1 },
  { name: 'wait-k3', masters: 3, replicas: 1, cluster: true, buckets: 3, wait: 1 },
];

function configFor(env: Record<string, string>): AppConfig {
  return loadConfig({
    DATABASE_URL: 'postgresql://unused@127.0.0.1/unused',
    JWT_SECRET: 'bench-secret-bench-secret-bench-secret-0',
    REDIS_KEY_PREFIX: 'gb',
    BACKLOG_CAP: '1000000000',
    RATE_LIMIT_USER_PER_SECOND: '1000000',
    REDIS_COMMAND_TIMEOUT_MS: '10000',
    ...env,
  });
}

/** A driver process: admissions back to back, `inflight` at a time, until measure-to. */
async function drive(): Promise<void> {
  const config = configFor(process.env as Record<string, string>);
  const redis = new RedisService(config);
  const gate = new GateAdmission(new GateLayout(redis, config), config, config);
  const from = Number(flags['measure-from']);
  const to = Number(flags['measure-to']);
  const me = randomUUID().slice(0, 8);
  let seq = 0;
  let counted = 0;
  let refused = 0;
  const latencies: number[] = [];
  const loop = async (): Promise<void> => {
    while (Date.now() < to) {
      const started = Date.now();
      const answer = await gate.admit({
        ticket: {
          orderId: `${me}${(seq++).toString(36)}`,
          saleId: flags.sale!,
          userId: `${me}-${seq}`,
          quantity: 1,
          admittedAt: started,
          batch: 'bench',
        },
        ip: '127.0.0.1',
      });
      if (started >= from) {
        if (answer.code === 'OK') counted++;
        else refused++;
        latencies.push(Date.now() - started);
      }
    }
  };
  await Promise.all(Array.from({ length: Number(flags.inflight) }, loop));
  latencies.sort((a, b) => a - b);
  const p = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  console.log(JSON.stringify({ admitted: counted, refused, p50: p(0.5), p99: p(0.99) }));
  await redis.onApplicationShutdown();
}

async function runScenario(s: Scenario): Promise<Record<string, unknown>> {
  const single = s.cluster ? undefined : new OwnRedis();
  const cluster = s.cluster ? new OwnRedisCluster(s.masters, s.replicas) : undefined;
  await single?.start();
  await cluster?.start();
  const ports = cluster ? cluster.ports : [single!.port];
  const env: Record<string, string> = cluster
    ? { REDIS_CLUSTER_NODES: cluster.seeds, REDIS_WAIT_REPLICAS: String(s.wait) }
    : { REDIS_URL: single!.url, REDIS_WAIT_REPLICAS: String(s.wait) };
  const drivers: ReturnType<typeof spawn>[] = [];
  try {
    const config = configFor(env);
    const redis = new RedisService(config);
    const gate = new GateRebuild(new GateLayout(redis, config));
    const saleId = randomUUID();
    const now = Date.now();
    await gate.rebuild(saleId, {
      mode: 'create',
      settings: {
        stock: 100_000_000,
        startsAt: now - 1000,
        endsAt: now + 3_600_000,
        perUserLimit: 1,
        room: false,
        paused: false,
        price: 100,
        buckets: s.buckets,
      },
      orders: { live: [], dead: [], awaiting: [] },
      mark: Array.from({ length: s.buckets }, () => 0),
      safe: false,
    });
    await redis.onApplicationShutdown();
    const seconds = Number(flags.seconds);
    const from = Date.now() + 2000; // connect and warm up
    const to = from + seconds * 1000;
    const outputs: string[] = [];
    for (let i = 0; i < Number(flags.drivers); i++) {
      const child = spawn(
        process.execPath,
        [
          path.join(ROOT, 'dist-bench/bench/gate-cluster.js'),
          '--driver',
          '--sale',
          saleId,
          '--inflight',
          flags.inflight!,
          '--measure-from',
          String(from),
          '--measure-to',
          String(to),
        ],
        { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.once('exit', () => outputs.push(out));
      drivers.push(child);
    }
    const components: Record<string, () => number[]> = {
      drivers: () => drivers.map((d) => d.pid!),
    };
    for (const port of ports)
      components[`redis:${port}`] = () => pidsOf(new RegExp(`redis-server 127\\.0\\.0\\.1:${port}\\b`));
    await new Promise((r) => setTimeout(r, from - Date.now()));
    const before = cpuSnapshot(components);
    await new Promise((r) => setTimeout(r, to - Date.now()));
    const after = cpuSnapshot(components);
    await Promise.all(drivers.map((d) => new Promise((r) => (d.exitCode !== null ? r(0) : d.once('exit', r)))));
    const results = outputs.map((o) => JSON.parse(o.trim().split('\n').at(-1)!) as Record<string, number>);
    const admitted = results.reduce((n, r) => n + r.admitted!, 0);
    const cpu = cpuBetween(before, after);
    // Busiest node first: with one bucket one master does the work; with three, three share it.
    const perNode = ports.map((port) => cpu[`redis:${port}`]! / seconds).sort((a, b) => b - a);
    const redisCores = perNode.reduce((a, b) => a + b, 0);
    return {
      scenario: s.name,
      masters: s.masters,
      replicas: s.replicas,
      buckets: s.buckets,
      wait: s.wait,
      admissionsPerSecond: Math.round(admitted / seconds),
      refused: results.reduce((n, r) => n + r.refused!, 0),
      p50ms: Math.max(...results.map((r) => r.p50!)),
      p99ms: Math.max(...results.map((r) => r.p99!)),
      redisCores: Number(redisCores.toFixed(2)),
      redisCoresPerNode: perNode.map((c) => Number(c.toFixed(2))).join(' '),
      redisUsPerAdmission: admitted ? Math.round((redisCores * seconds * 1e6) / admitted) : null,
      driverCores: Number((cpu.drivers! / seconds).toFixed(2)),
      driverUsPerAdmission: admitted ? Math.round((cpu.drivers! * 1e6) / admitted) : null,
    };
  } finally {
    for (const d of drivers) if (d.exitCode === null) d.kill('SIGKILL');
    await cluster?.dispose();
    await single?.dispose();
  }
}

async function main(): Promise<void> {
  const only = flags.only ? flags.only.split(',') : undefined;
  const rows: Record<string, unknown>[] = [];
  for (const s of SCENARIOS.filter((x) => !only || only.includes(x.name))) {
    const row = await runScenario(s);
    console.log(JSON.stringify(row));
    rows.push(row);
  }
  console.table(rows);
  const stamp = new Date().toISOString().slice(0, 16).replace(':', '-');
  const dir = path.join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `gate-cluster-${stamp}.json`);
  writeFileSync(
    file,
    JSON.stringify(
      { command: `npm run bench:gate-cluster -- ${process.argv.slice(2).join(' ')}`.trim(), flags, rows },
      null,
      2,
    ),
  );
  console.log(`written ${path.relative(ROOT, file)}`);
}

(flags.driver ? drive() : main()).then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
