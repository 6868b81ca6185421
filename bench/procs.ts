/** Processes of a bench run: start/stop with output in a log file, peak RSS, CPU from /proc. */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface Proc {
  name: string;
  child: ChildProcess;
  logFile: string;
  peak: () => number;
  resetPeak: () => void;
}

/** Starts a node script with its output in a log file; samples its RSS every 200 ms. */
export async function startNode(
  name: string,
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
): Promise<Proc> {
  const logFile = path.join(tmpdir(), `flash-sale-bench-${name}.log`);
  const fd = openSync(logFile, 'w');
  const child = spawn(process.execPath, args, {
    cwd: tmpdir(),
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', fd, fd],
  });
  let peak = 0;
  const timer = setInterval(() => {
    peak = Math.max(peak, rssOf(child.pid));
  }, 200);
  timer.unref();
  child.once('exit', () => clearInterval(timer));
  const deadline = Date.now() + 30_000;
  while (!ready.test(readFileSync(logFile, 'utf8'))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`${name} did not start:\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { name, child, logFile, peak: () => peak, resetPeak: () => (peak = 0) };
}

/** The bare Fastify server a phase is compared with (bench/ceiling-server.ts), on a free port; resolves once it listens. */
export async function startCeilingServer(port: number): Promise<ChildProcess> {
  const proc = spawn(process.execPath, [path.join(import.meta.dirname, 'ceiling-server.js'), String(port)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve) => proc.stdout!.once('data', () => resolve()));
  return proc;
}

export async function stopProc(proc: Proc | undefined): Promise<void> {
  // Gone already: exited, or killed by a signal (an abort on a full heap leaves exitCode null).
  if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  const exited = new Promise((r) => proc.child.once('exit', r));
  proc.child.kill('SIGTERM');
  const stuck = setTimeout(() => proc.child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(stuck);
}

function rssOf(pid: number | undefined): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
  } catch {
    return 0; // gone
  }
}

/** CPU seconds (user + system) a process used so far; 0 when it is gone. */
function cpuSecondsOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ
  } catch {
    return 0;
  }
}

/** Pids whose command line matches. */
export function pidsOf(pattern: RegExp): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (pattern.test(readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' '))) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

/** Each component's processes: fixed pids, or a function that finds them now (Postgres backends come and go). */
export type Components = Record<string, () => number[]>;

/** CPU seconds per pid of each component, at one moment. */
export type CpuSnapshot = Record<string, Map<number, number>>;

export function cpuSnapshot(components: Components): CpuSnapshot {
  return Object.fromEntries(
    Object.entries(components).map(([name, pids]) => [name, new Map(pids().map((pid) => [pid, cpuSecondsOf(pid)]))]),
  );
}

/** CPU seconds each component used between two snapshots (a process that appeared in between counts from 0). */
export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot): Record<string, number> {
  return Object.fromEntries(
    Object.entries(after).map(([name, pids]) => {
      let sum = 0;
      for (const [pid, seconds] of pids) sum += seconds - (before[name]?.get(pid) ?? 0);
      return [name, sum];
    }),
  );
}
