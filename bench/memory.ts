/**
 * A process's memory, as its own /metrics (prom-client's defaults) and the
 * kernel see it: RSS, V8's heap (total and used), external memory (Buffers
 * and ArrayBuffers outside the heap), open handles by type (sockets), and
 * the RSS split by mapping from /proc/<pid>/smaps: the node binary's pages,
 * other files (shared libraries), malloc's brk heap and thread arenas, and
 * other anonymous mappings (V8's heap pages, thread stacks).
 */
import { readFileSync } from 'node:fs';
import { round } from './support.js';

export interface MemorySample {
  /** Seconds since the run began. */
  at: number;
  /** All figures in MB. */
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  /**
   * From smaps: the node binary, other files, malloc's brk heap (main arena),
   * malloc's thread arenas (anonymous mappings starting on a 64 MiB boundary,
   * glibc's HEAP_MAX_SIZE), other anonymous mappings (V8's heap pages, stacks).
   */
  binary: number;
  files: number;
  brk: number;
  arenas: number;
  anon: number;
  /** Open libuv handles by type (Socket, Server, Timer, Pipe…). */
  handles: Record<string, number>;
  openFds: number;
}

const mb = (bytes: number): number => round(bytes / 1048576);

/** One gauge's value from a Prometheus text page (the first series of that name and labels). */
function gauge(page: string, name: string): number {
  const line = page.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : NaN;
}

function handles(page: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of page.matchAll(/^nodejs_active_handles\{type="([^"]+)"\} (\d+)/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

const ARENA_ALIGN = 64n * 1024n * 1024n;

/** RSS by kind of mapping, in bytes, from /proc/<pid>/smaps. */
function smaps(pid: number): { binary: number; files: number; brk: number; arenas: number; anon: number } {
  const out = { binary: 0, files: 0, brk: 0, arenas: 0, anon: 0 };
  let kind: keyof typeof out = 'anon';
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  } catch {
    return out; // gone
  }
  for (const line of text.split('\n')) {
    const header = /^([0-9a-f]+)-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header) {
      const name = header[2]!;
      kind =
        name === '[heap]'
          ? 'brk'
          : name.endsWith('/node')
            ? 'binary'
            : name.startsWith('/')
              ? 'files'
              : name === '' && BigInt(`0x${header[1]}`) % ARENA_ALIGN === 0n
                ? 'arenas'
                : 'anon';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) out[kind] += Number(rss[1]) * 1024;
  }
  return out;
}

/** Reads the process's /metrics (`metricsUrl`) and its smaps. */
export async function memorySample(pid: number, metricsUrl: string, at: number): Promise<MemorySample | undefined> {
  let page: string;
  try {
    const res = await fetch(metricsUrl, { signal: AbortSignal.timeout(5000) });
    if (res.status !== 200) return undefined;
    page = await res.text();
  } catch {
    return undefined; // busy or down: a gap in the series
  }
  const maps = smaps(pid);
  return {
    at,
    rss: mb(gauge(page, 'process_resident_memory_bytes')),
    heapTotal: mb(gauge(page, 'nodejs_heap_size_total_bytes')),
    heapUsed: mb(gauge(page, 'nodejs_heap_size_used_bytes')),
    external: mb(gauge(page, 'nodejs_external_memory_bytes')),
    binary: mb(maps.binary),
    files: mb(maps.files),
    brk: mb(maps.brk),
    arenas: mb(maps.arenas),
    anon: mb(maps.anon),
    handles: handles(page),
    openFds: gauge(page, 'process_open_fds'),
  };
}
