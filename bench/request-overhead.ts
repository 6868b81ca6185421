/**
 * `npm run bench:overhead [-- --runs 3] [--seconds 5] [--rate 15000]`
 *
 * CPU per request of what the hardening adds on every request, measured as in
 * the team's notes (shared/notes/ops-libraries.md): a trivial GET /ping on
 * NestJS + Fastify (bench/overhead-server.ts) pinned to core 0, autocannon
 * pinned to core 1 at a fixed rate with 100 connections; the server's CPU
 * (all threads, /proc) divided by the requests answered; the median of
 * `runs` runs, the setups interleaved. CPU time, not wall time, so other
 * load on the machine moves it little.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, percentile, ROOT, round, startNode } from './support.js';

const { values: flags } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '5' },
    rate: { type: 'string', default: '15000' },
  },
});

/** The setups of bench/overhead-server.ts, described there. */
const SETUPS = ['bare', 'before', 'after', 'after-cors'];

/** Requests answered 2xx by autocannon pinned to core 1. */
async function load(url: string, seconds: number, withOrigin: boolean): Promise<number> {
  const args = ['-c', '1', process.execPath, path.join(ROOT, 'node_modules/autocannon/autocannon.js')];
  args.push('-c', '100', '-d', String(seconds), '-R', flags.rate!, '-j');
  if (withOrigin) args.push('-H', 'origin=https://shop.example.com');
  args.push(url);
  const child = spawn('taskset', args, { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await new Promise((resolve) => child.once('exit', resolve));
  const result = JSON.parse(out) as { '2xx': number; non2xx: number };
  if (result.non2xx > 0) throw new Error(`${result.non2xx} answers were not 2xx`);
  return result['2xx'];
}

async function measure(setup: string, seconds: number): Promise<number> {
  const port = await freePort();
  const server = await startNode(
    `overhead-${setup}`,
    [path.join(ROOT, 'dist-bench/bench/overhead-server.js'), setup, String(port)],
    {},
    /ready/,
    { cpu: 0 },
  );
  try {
    const url = `http://127.0.0.1:${port}/ping`;
    await load(url, 2, setup === 'after-cors'); // warm-up
    const before = server.cpuSeconds();
    const requests = await load(url, seconds, setup === 'after-cors');
    return ((server.cpuSeconds() - before) * 1e6) / requests;
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const runs = Number(flags.runs);
  const seconds = Number(flags.seconds);
  const samples = new Map<string, number[]>(SETUPS.map((s) => [s, []]));
  for (let run = 1; run <= runs; run++) {
    for (const setup of SETUPS) {
      const us = await measure(setup, seconds);
      samples.get(setup)!.push(us);
      console.log(`[overhead] run ${run} ${setup}: ${round(us)} µs/request`);
    }
  }
  const median = (setup: string): number => percentile(samples.get(setup)!, 50);
  console.log('\n| on every request | µs CPU/request (median) | vs bare | vs before |');
  console.log('| --- | --- | --- | --- |');
  for (const setup of SETUPS) {
    const m = median(setup);
    console.log(
      `| ${setup} | ${round(m)} | ${setup === 'bare' ? '' : round(m - median('bare'))} | ${setup === 'bare' || setup === 'before' ? '' : round(m - median('before'))} |`,
    );
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
