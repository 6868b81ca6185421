/**
 * `npm run bench:pow [-- --solves 15] [--difficulty 2000000] [--phone-slowdown 4] [--no-browser]`
 *
 * What the anti-bot challenge costs each side (issue 22):
 * - the server: CPU per proof check (ChallengeSigner.check: one HMAC, one SHA-256), median of 20,000;
 * - Node: the storefront's solver (static/shop/pow-worker.js, run in a vm) and a scripted client
 *   using node:crypto, each as CPU per solve and hashes per CPU second;
 * - headless Chromium (Debian's /usr/bin/chromium): FlashPow.solve (static/shop/pow.js) in Web
 *   Workers, with one worker and with the page's default (the cores, at most 4).
 * Every solve is a fresh challenge at the base tier: its median is about half the
 * difficulty's hashes. A phone is not at hand: its median is extrapolated as the one-worker
 * Chromium median × --phone-slowdown, and from the solver's CPU rate in Node (half the range at
 * rate / slowdown): see docs/security.md for the assumption.
 * Writes bench/results/pow-solve-<stamp>.json.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { loadavg, cpus } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import vm from 'node:vm';
import { chromium } from 'playwright-core';
import { ChallengeSigner, solve, type Challenge } from '../src/bots/challenge.js';
import { percentile, ROOT, round, writeResult } from './support.js';

const { values: flags } = parseArgs({
  options: {
    solves: { type: 'string', default: '15' },
    difficulty: { type: 'string', default: '2000000' },
    'phone-slowdown': { type: 'string', default: '4' },
    'no-browser': { type: 'boolean', default: false },
  },
});
const SOLVES = Number(flags.solves);
const DIFFICULTY = Number(flags.difficulty);
const PHONE_SLOWDOWN = Number(flags['phone-slowdown']);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const OWNER = { saleId: '6f1c2a3e-0000-4000-8000-000000000001', userId: '7a2b3c4d-0000-4000-8000-000000000002' };

const signer = new ChallengeSigner('bench-secret-bench-secret-bench-secret');
const challenges = (n: number): Challenge[] =>
  Array.from({ length: n }, () => signer.issue(OWNER, { baseWork: DIFFICULTY, tier: 0, ttlMs: 3_600_000 }));

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function serverVerify(): { medianMicros: number; p99Micros: number } {
  const proofs = challenges(20).map((c) => `${c.challenge}:${solve({ ...c, maxNumber: c.maxNumber })}`);
  const times: number[] = [];
  for (let i = 0; i < 20_000; i++) {
    const t = process.hrtime.bigint();
    signer.check(proofs[i % proofs.length]!, OWNER);
    times.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  return { medianMicros: round(percentile(times, 50), 2), p99Micros: round(percentile(times, 99), 2) };
}

type Scan = (salt: string, target: Int32Array, from: number, to: number) => { found: number | null; tries: number };

function nodeSolvers(): Record<string, { medianMs: number; hashesPerCpuSecond: number }> {
  const ctx = vm.createContext({});
  vm.runInContext(readFileSync(path.join(ROOT, 'static/shop/pow-worker.js'), 'utf8'), ctx);
  const { scan, words } = ctx as unknown as { scan: Scan; words: (hex: string) => Int32Array };
  const out: Record<string, { medianMs: number; hashesPerCpuSecond: number }> = {};
  const run = (name: string, find: (c: Challenge) => number) => {
    const ms: number[] = [];
    let hashes = 0;
    let cpu = 0;
    for (const c of challenges(SOLVES)) {
      const before = cpuMs();
      hashes += find(c);
      const spent = cpuMs() - before;
      cpu += spent;
      ms.push(spent);
    }
    out[name] = { medianMs: round(percentile(ms, 50)), hashesPerCpuSecond: Math.round((hashes / cpu) * 1000) };
  };
  run('storefrontSolverInNode', (c) => scan(c.salt, words(c.hash), 0, c.maxNumber).tries);
  run('scriptedNodeCrypto', (c) => {
    for (let n = 0; n <= c.maxNumber; n++) {
      if (
        createHash('sha256')
          .update(c.salt + n)
          .digest('hex') === c.hash
      )
        return n + 1;
    }
    return c.maxNumber + 1;
  });
  return out;
}

const HARNESS = `<!doctype html><meta charset="utf-8"><title>pow bench</title><script src="/shop/pow.js"></script>`;

async function browser(): Promise<Record<string, { medianMs: number; p90Ms: number; hashesPerSecond: number }>> {
  const server: Server = createServer((req, res) => {
    if (req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(HARNESS);
      return;
    }
    const name = /^\/shop\/(pow(?:-worker)?\.js)$/.exec(req.url ?? '')?.[1];
    if (!name) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(path.join(ROOT, 'static/shop', name)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const context = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  try {
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${port}/`);
    const out: Record<string, { medianMs: number; p90Ms: number; hashesPerSecond: number }> = {};
    for (const [name, workers] of [
      ['chromiumOneWorker', 1],
      ['chromiumPageDefault', 0],
    ] as const) {
      const runs = await page.evaluate(
        async ({ list, workers }) => {
          const pow = (
            globalThis as unknown as {
              FlashPow: { solve: (c: unknown, o: unknown) => Promise<{ tries: number; ms: number }> };
            }
          ).FlashPow;
          const results = [];
          for (const c of list) results.push(await pow.solve(c, { workers: workers || undefined }));
          return { results, cores: navigator.hardwareConcurrency };
        },
        { list: challenges(SOLVES), workers },
      );
      const ms = runs.results.map((r) => r.ms);
      const tries = runs.results.reduce((s, r) => s + r.tries, 0);
      const total = ms.reduce((s, v) => s + v, 0);
      out[name] = {
        medianMs: round(percentile(ms, 50)),
        p90Ms: round(percentile(ms, 90)),
        hashesPerSecond: Math.round((tries / total) * 1000),
      };
    }
    return out;
  } finally {
    await context.close();
    server.close();
  }
}

const load = loadavg()[0]!;
console.log(
  `difficulty ${DIFFICULTY}, ${SOLVES} solves each; load average ${load.toFixed(1)} on ${cpus().length} cores`,
);
const verify = serverVerify();
console.log('server: proof check', verify);
const node = nodeSolvers();
console.log('node', node);
const chromiumRuns = flags['no-browser'] ? null : await browser();
if (chromiumRuns) console.log('chromium', chromiumRuns);
const oneWorker = chromiumRuns?.chromiumOneWorker.medianMs ?? null;
const file = writeResult('pow-solve', 'bench:pow', {
  difficulty: DIFFICULTY,
  solves: SOLVES,
  loadAverage: round(load, 1),
  cores: cpus().length,
  serverVerify: verify,
  node,
  chromium: chromiumRuns,
  phone: {
    slowdownAssumed: PHONE_SLOWDOWN,
    /** From the one-worker Chromium median (wall time: inflated when the machine is loaded). */
    medianSecondsOneCore: oneWorker === null ? null : round((oneWorker * PHONE_SLOWDOWN) / 1000, 2),
    /** From the solver's CPU rate in Node (same V8; CPU time, so other load moves it little): half the range. */
    medianSecondsOneCoreFromCpuRate: round(
      DIFFICULTY / 2 / (node.storefrontSolverInNode!.hashesPerCpuSecond / PHONE_SLOWDOWN),
      2,
    ),
  },
});
console.log(`wrote ${file}`);
