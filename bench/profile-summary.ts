/**
 * `tsc -p tsconfig.bench.json && node dist-bench/bench/profile-summary.js <file.cpuprofile> [--top N]
 *   [--requests N] [--from s --to s] [--incl REGEX]`
 *
 * A V8 CPU profile (`--profile` of bench:api and bench) summed by self time:
 * per package or file, then per function; with --requests, µs per request.
 * The window is the busy stretch after start-up (half-second bins more than
 * 30 % busy, after the first 4 s) unless --from/--to (seconds into the
 * profile) say otherwise: the API's start-up and the users' creation are left
 * out. --incl REGEX adds the inclusive time of the functions it matches
 * ("name file:line"), e.g. the guard: `--incl 'canActivate dist'`.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    top: { type: 'string', default: '30' },
    requests: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    incl: { type: 'string' },
  },
});
const profile = JSON.parse(readFileSync(positionals[0]!, 'utf8')) as Profile;
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parents = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parents.set(c, n.id);
const isIdle = (id: number): boolean => nodes.get(id)!.callFrame.functionName === '(idle)';

let clock = 0;
const at = profile.timeDeltas.map((d) => (clock += d));
const [from, to] =
  flags.from || flags.to ? [Number(flags.from ?? 0) * 1e6, Number(flags.to ?? Infinity) * 1e6] : busyWindow();

/** The first to the last half second more than 30 % busy, from 4 s on (µs). */
function busyWindow(): [number, number] {
  const bins = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    if (!isIdle(id))
      bins.set(Math.floor(at[i]! / 500_000), (bins.get(Math.floor(at[i]! / 500_000)) ?? 0) + profile.timeDeltas[i]!);
  });
  const busy = [...bins].filter(([bin, us]) => bin >= 8 && us > 150_000).map(([bin]) => bin);
  return busy.length ? [Math.min(...busy) * 500_000, (Math.max(...busy) + 1) * 500_000] : [0, Infinity];
}

function label(node: ProfileNode): { name: string; owner: string } {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url
    .replace(/^file:\/\//, '')
    .replace(/.*node_modules\//, 'nm:')
    .replace(/^.*?\/(dist|src)\//, '$1/');
  const pkg = file.startsWith('nm:')
    ? file
        .slice(3)
        .split('/')
        .slice(0, file.startsWith('nm:@') ? 2 : 1)
        .join('/')
    : undefined;
  return { name: `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}`, owner: pkg ?? (file || functionName) };
}

const selfTime = new Map<number, number>();
profile.samples.forEach((id, i) => {
  if (at[i]! >= from && at[i]! < to) selfTime.set(id, (selfTime.get(id) ?? 0) + profile.timeDeltas[i]!);
});
const byOwner = new Map<string, number>();
const byFunction = new Map<string, number>();
const inclusive = new Map<string, number>();
const add = (m: Map<string, number>, k: string, us: number): void => void m.set(k, (m.get(k) ?? 0) + us);
let busy = 0;
let idle = 0;
for (const [id, us] of selfTime) {
  if (isIdle(id)) {
    idle += us;
    continue;
  }
  busy += us;
  const { name, owner } = label(nodes.get(id)!);
  add(byOwner, owner, us);
  add(byFunction, name, us);
  if (flags.incl) {
    const seen = new Set<string>();
    for (let n: number | undefined = id; n !== undefined; n = parents.get(n)) {
      const caller = label(nodes.get(n)!).name;
      if (new RegExp(flags.incl).test(caller) && !seen.has(caller)) {
        seen.add(caller);
        add(inclusive, caller, us);
      }
    }
  }
}

const requests = flags.requests ? Number(flags.requests) : 0;
const share = (us: number): string =>
  `${((100 * us) / busy).toFixed(1).padStart(5)} %` + (requests ? ` ${(us / requests).toFixed(1).padStart(7)} µs` : '');
function table(title: string, m: Map<string, number>): void {
  console.log(`--- ${title}`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, Number(flags.top)))
    console.log(`${share(us)}  ${k}`);
}
console.log(
  `window ${(from / 1e6).toFixed(1)}–${(Math.min(to, clock) / 1e6).toFixed(1)} s: busy ${(busy / 1e3).toFixed(0)} ms, idle ${(idle / 1e3).toFixed(0)} ms` +
    (requests ? `, ${(busy / requests).toFixed(1)} µs per request` : ''),
);
table('self time by package or file', byOwner);
table('self time by function', byFunction);
if (flags.incl) table('inclusive time', inclusive);
