/**
 * `npm run bench:aof-loss [-- --runs 3] [--clients 48] [--kill-after 300] [--modes always,everysec,empty]`
 *
 * Admissions lost when Redis dies mid-spike: the built API and one worker
 * (production settings) on a redis-server of the run's own with its
 * append-only file, a fresh sale per run and `--clients` shoppers buying back
 * to back; after `--kill-after` 202s the redis-server is SIGKILLed and started
 * again at once — from its append-only file written with `appendfsync always`
 * or `everysec`, or empty (its files deleted: the data loss of issue 21) — while
 * the shoppers keep buying for `--spike-seconds`. Then it waits until every
 * 202 is an order in Postgres or answers 410 ORDER_LOST to its shopper, and
 * counts them, with the purchases that answered 503 OUTCOME_UNKNOWN and how
 * many of those became orders. Postgres is the machine's (never restarted
 * here). Writes bench/results/aof-loss-<stamp>.json.
 *
 * A SIGKILL ends the process, not the machine: what Redis wrote to its file
 * before it died is in the kernel's page cache either way, so this measures
 * what a crash of redis-server loses, not a power cut (where `everysec` can
 * lose up to a second of writes not yet fsynced).
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { SMTPServer } from 'smtp-server';
import { request } from '../test/support/http.js';
import { OwnRedis } from '../test/support/redis-server.js';
import {
  API_NODE_FLAGS,
  WORKER_NODE_FLAGS,
  freePort,
  freshDatabase,
  openSale,
  productionEnv,
  query,
  ROOT,
  round,
  startNode,
  usersWithTokens,
  writeResult,
  type BenchUser,
  type Proc,
} from './support.js';

const { values: flags } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    clients: { type: 'string', default: '48' },
    'kill-after': { type: 'string', default: '300' },
    'spike-seconds': { type: 'string', default: '10' },
    modes: { type: 'string', default: 'always,everysec,empty' },
    users: { type: 'string', default: '2000' },
  },
});
const RUNS = Number(flags.runs);
const CLIENTS = Number(flags.clients);
const KILL_AFTER = Number(flags['kill-after']);
const SPIKE_MS = Number(flags['spike-seconds']) * 1000;
const MODES = flags.modes.split(',') as Mode[];
type Mode = 'always' | 'everysec' | 'empty';

function log(message: string): void {
  console.log(`[aof-loss] ${message}`);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The redis-server's arguments of a mode (an empty restart runs with everysec: its files are deleted anyway). */
const redisArgs = (mode: Mode): string[] => [
  '--appendonly',
  'yes',
  '--appendfsync',
  mode === 'always' ? 'always' : 'everysec',
];

interface RunResult {
  mode: Mode;
  run: number;
  /** 202s in all, before the kill, and after the restart. */
  admitted: number;
  admittedBeforeKill: number;
  /** Purchases waiting for their answer when the server died. */
  inFlightAtKill: number;
  /** 202s that became orders; 202s whose shopper is told 410 ORDER_LOST; anything else (should be 0). */
  persisted: number;
  lost: number;
  /** The lost ones by when their 202 came: before the kill, while Redis was down (answered before it died), after the restart. */
  lostAnswered: { beforeKill: number; duringRestart: number; afterRestart: number };
  otherAnswer: Record<string, number>;
  outcomeUnknown: number;
  outcomeUnknownPersisted: number;
  answers: Record<string, number>;
  /** From the kill to the first 202 after the restart. */
  secondsToNext202: number | null;
  /** From the spike's end until every 202 was an order or a 410. */
  settleSeconds: number;
}

async function spike(
  base: string,
  saleId: string,
  users: BenchUser[],
  redis: OwnRedis,
  mode: Mode,
  run: number,
): Promise<RunResult> {
  const admitted: { user: BenchUser; id: string; at: number }[] = [];
  const unknown: string[] = [];
  const answers = new Map<string, number>();
  let killedAt = 0;
  let restartedAt = 0;
  let inFlight = 0;
  let inFlightAtKill = 0;
  let next = run * CLIENTS;
  let killing: Promise<void> | undefined;
  const until = Date.now() + SPIKE_MS;

  const kill = async (): Promise<void> => {
    inFlightAtKill = inFlight;
    killedAt = Date.now();
    await redis.stop('SIGKILL');
    if (mode === 'empty') redis.wipe();
    await redis.start(redisArgs(mode));
    restartedAt = Date.now();
  };

  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (Date.now() < until) {
        const user = users[next++ % users.length]!;
        inFlight++;
        let key: string;
        try {
          const res = await request<{ orderId?: string; code?: string }>(base, 'POST', `/sales/${saleId}/orders`, {
            token: user.token,
            body: {},
          });
          key = `${res.status} ${res.body?.code ?? ''}`.trim();
          if (res.status === 202 && res.body.orderId) {
            admitted.push({ user, id: res.body.orderId, at: Date.now() });
            if (admitted.length === KILL_AFTER) killing = kill();
          }
          if (res.body?.code === 'OUTCOME_UNKNOWN' && res.body.orderId) unknown.push(res.body.orderId);
        } catch (err) {
          key = `error ${err instanceof Error ? err.message : String(err)}`;
        } finally {
          inFlight--;
        }
        answers.set(key, (answers.get(key) ?? 0) + 1);
        // Refused at once (Redis down): a short pause, as a shopper would, not a busy loop.
        if (!key.startsWith('202')) await sleep(50);
      }
    }),
  );
  if (!killing) throw new Error(`only ${admitted.length} admissions in the spike: lower --kill-after`);
  await killing;
  const spikeEnded = Date.now();

  // Settle: every 202 an order in Postgres, or its shopper told 410 ORDER_LOST.
  const ids = admitted.map((a) => a.id);
  let missing: typeof admitted;
  let told: Map<string, number>;
  const deadline = Date.now() + 120_000;
  for (;;) {
    const found = new Set(
      (await query<{ id: string }>(DB, 'SELECT id FROM orders WHERE id = ANY($1::text[])', [ids])).map((r) => r.id),
    );
    missing = admitted.filter((a) => !found.has(a.id));
    told = new Map();
    for (const a of missing) {
      const res = await request<{ code?: string }>(base, 'GET', `/orders/${a.id}`, { token: a.user.token });
      const key = `${res.status} ${res.body?.code ?? ''}`.trim();
      told.set(key, (told.get(key) ?? 0) + 1);
    }
    if ((told.get('410 ORDER_LOST') ?? 0) === missing.length || Date.now() > deadline) break;
    await sleep(1000);
  }
  const settleSeconds = round((Date.now() - spikeEnded) / 1000);
  const unknownPersisted = unknown.length
    ? Number(
        (await query<{ n: string }>(DB, 'SELECT count(*) AS n FROM orders WHERE id = ANY($1::text[])', [unknown]))[0]!
          .n,
      )
    : 0;
  const next202 = admitted.find((a) => a.at > restartedAt);
  const lost = told.get('410 ORDER_LOST') ?? 0;
  told.delete('410 ORDER_LOST');
  const lostAnswered = {
    beforeKill: missing.filter((a) => a.at <= killedAt).length,
    duringRestart: missing.filter((a) => a.at > killedAt && a.at <= restartedAt).length,
    afterRestart: missing.filter((a) => a.at > restartedAt).length,
  };
  return {
    mode,
    run,
    admitted: admitted.length,
    admittedBeforeKill: admitted.filter((a) => a.at <= killedAt).length,
    inFlightAtKill,
    persisted: admitted.length - missing.length,
    lost,
    lostAnswered,
    otherAnswer: Object.fromEntries(told),
    outcomeUnknown: unknown.length,
    outcomeUnknownPersisted: unknownPersisted,
    answers: Object.fromEntries([...answers].sort((a, b) => b[1] - a[1])),
    secondsToNext202: next202 ? round((next202.at - killedAt) / 1000) : null,
    settleSeconds,
  };
}

let DB = '';

async function main(): Promise<void> {
  log(
    `${RUNS} runs of each of ${MODES.join(', ')}; ${CLIENTS} shoppers back to back, SIGKILL after ${KILL_AFTER} 202s`,
  );
  const redis = new OwnRedis();
  const procs: Proc[] = [];
  // The confirmations' email goes to a local sink (the worker's jobs as in production).
  const smtp = new SMTPServer({ authOptional: true, disabledCommands: ['STARTTLS', 'AUTH'], logger: false });
  smtp.on('error', () => undefined);
  try {
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    const smtpPort = (smtp.server.address() as { port: number }).port;
    await redis.start(redisArgs(MODES[0]!));
    DB = await freshDatabase('flash_sale_aof_loss');
    const port = await freePort();
    const secret = randomBytes(32).toString('hex');
    const env = productionEnv(
      { db: DB, secret, prefix: 'fsaof', queuePrefix: '{fsaofq}', port },
      {
        REDIS_URL: redis.url,
        WORKER_OPS_PORT: String(await freePort()),
        SMS_PROVIDER: 'log',
        SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
      },
    );
    procs.push(await startNode('aof-api', [...API_NODE_FLAGS, path.join(ROOT, 'dist/main.js')], env, /API listening/));
    procs.push(
      await startNode('aof-worker', [...WORKER_NODE_FLAGS, path.join(ROOT, 'dist/worker.js')], env, /worker ready/),
    );
    const base = `http://127.0.0.1:${port}`;
    const [admin] = await usersWithTokens(DB, 1, secret, 'ADMIN');
    const users = await usersWithTokens(DB, Number(flags.users), secret);
    const started = Date.now();

    const results: RunResult[] = [];
    let current = MODES[0]!;
    for (const mode of MODES) {
      if (redisArgs(mode).join(' ') !== redisArgs(current).join(' ')) {
        await redis.stop('SIGTERM');
        await redis.start(redisArgs(mode));
      }
      current = mode;
      for (let run = 0; run < RUNS; run++) {
        // A sale per run, open and preheated once Redis answers again.
        const saleId = await openSale(base, admin!, { stock: 1_000_000, perUserLimit: 1000 });
        const result = await spike(base, saleId, users, redis, mode, run);
        results.push(result);
        log(`${mode} #${run + 1}: ${JSON.stringify(result)}`);
      }
    }

    const summary = Object.fromEntries(
      MODES.map((mode) => {
        const runs = results.filter((r) => r.mode === mode);
        return [
          mode,
          {
            lost: runs.map((r) => r.lost),
            admitted: runs.map((r) => r.admitted),
            inFlightAtKill: runs.map((r) => r.inFlightAtKill),
            outcomeUnknown: runs.map((r) => r.outcomeUnknown),
            outcomeUnknownPersisted: runs.map((r) => r.outcomeUnknownPersisted),
            otherAnswers: runs.reduce((n, r) => n + Object.values(r.otherAnswer).reduce((a, b) => a + b, 0), 0),
          },
        ];
      }),
    );
    console.log('\nadmissions (202) lost, per run:');
    for (const [mode, s] of Object.entries(summary)) {
      console.log(
        `  ${mode.padEnd(9)} lost ${s.lost.join(', ')} of ${s.admitted.join(', ')}; in flight at the kill ` +
          `${s.inFlightAtKill.join(', ')}; OUTCOME_UNKNOWN ${s.outcomeUnknown.join(', ')} (became orders: ` +
          `${s.outcomeUnknownPersisted.join(', ')}); 202s answering neither order nor 410: ${s.otherAnswers}`,
      );
    }
    const file = writeResult('aof-loss', 'bench:aof-loss', {
      runs: RUNS,
      clients: CLIENTS,
      killAfter: KILL_AFTER,
      spikeSeconds: SPIKE_MS / 1000,
      seconds: round((Date.now() - started) / 1000),
      summary,
      results,
    });
    log(`wrote ${file}`);
    if (results.some((r) => Object.keys(r.otherAnswer).length > 0)) process.exitCode = 1;
  } finally {
    for (const p of procs) await p.stop();
    await redis.dispose();
    if (smtp.server.listening) await new Promise<void>((resolve) => smtp.close(() => resolve()));
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
