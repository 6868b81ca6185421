/**
 * `npm run demo`: a small flash sale against the running system (after
 * scripts/up.sh), so there is something to watch. It creates an admin and a
 * shopper with a password and prints both, creates a sale with a waiting room
 * that starts in a few seconds and prints its shop page (/shop/?sale=…), adds
 * a thousand shoppers who go through the room: half join the pre-queue before
 * the start, the rest during the spike; each polls its place no sooner than
 * told and buys with its admission once admitted (a few try without one, a
 * few twice with the same one). Then a few pay and a few cancel, and it
 * prints a summary and checks the invariants (exit 1 when one fails).
 *
 * Talks to the API over HTTP for everything but two things the API has no
 * route for: the admin account (made with POST /auth/register, then promoted
 * in Postgres) and the crowd (rows in Postgres with tokens signed with the
 * configured JWT_SECRET, as the bench does: a thousand password hashes would
 * take the machine half a minute). Reads `.env` like the services.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { JwtService } from '@nestjs/jwt';
import pg from 'pg';
import { hashPassword } from '../auth/password.js';
import { loadDotEnv } from '../infra/config/dotenv.js';

interface Options {
  url: string;
  shoppers: number;
  stock: number;
  startIn: number;
  spikeSeconds: number;
  mailUi: string;
}

interface Answer<T> {
  status: number;
  body: T;
}

type Json = Record<string, unknown>;

const bold = (s: string): string => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const say = (s: string): void => console.log(`${bold('[demo]')} ${s}`);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function options(): Options {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      shoppers: { type: 'string', default: '1000' },
      stock: { type: 'string', default: '300' },
      'start-in': { type: 'string', default: '20' },
      'spike-seconds': { type: 'string', default: '6' },
      'mail-ui': { type: 'string', default: 'http://localhost:8025' },
    },
  });
  const positive = (name: string, value: string | undefined): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
    return n;
  };
  return {
    url: values.url ?? process.env.DEMO_URL ?? `http://localhost:${process.env.PORT ?? 3000}`,
    shoppers: positive('shoppers', values.shoppers),
    stock: positive('stock', values.stock),
    startIn: positive('start-in', values['start-in']),
    spikeSeconds: positive('spike-seconds', values['spike-seconds']),
    mailUi: values['mail-ui'] ?? 'http://localhost:8025',
  };
}

async function call<T = Json>(
  base: string,
  method: string,
  path: string,
  { token, body, headers }: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer<T>> {
  const sent: Record<string, string> = { ...headers };
  if (token) sent.authorization = `Bearer ${token}`;
  if (body !== undefined) sent['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, {
    method,
    headers: sent,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as T };
}

/** Runs `work` over `items`, at most `width` at once. */
async function pool<T>(items: T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/** At most `width` requests in flight, however many shoppers wait for a turn. */
function limiter(width: number): <T>(work: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(work: () => Promise<T>): Promise<T> => {
    if (active >= width) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await work();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

interface Shopper {
  id: string;
  token: string;
}

interface Account {
  email: string;
  password: string;
  token: string;
}

/** An account made through POST /auth/register (so it has a real password), then signed in. */
async function register(o: Options, kind: 'admin' | 'shopper', name: string): Promise<Account> {
  const email = `${kind}-${randomBytes(3).toString('hex')}@demo.flash-sale.local`;
  const password = randomBytes(9).toString('base64url');
  const body = { email, phone: '+10000000001', password, name };
  const registered = await call(o.url, 'POST', '/auth/register', { body });
  if (registered.status !== 201) throw new Error(`${kind} not registered: ${JSON.stringify(registered.body)}`);
  return { email, password, token: '' };
}

async function signIn(o: Options, account: Account): Promise<Account> {
  const body = { email: account.email, password: account.password };
  const login = await call<{ accessToken: string }>(o.url, 'POST', '/auth/login', { body });
  if (login.status !== 200) throw new Error(`${account.email} cannot sign in: ${JSON.stringify(login.body)}`);
  return { ...account, token: login.body.accessToken };
}

async function createAdmin(o: Options, db: pg.Client): Promise<Account> {
  const admin = await register(o, 'admin', 'Demo admin');
  await db.query(`UPDATE users SET role = 'ADMIN' WHERE email = $1`, [admin.email]);
  return signIn(o, admin);
}

async function createShoppers(count: number, db: pg.Client, secret: string): Promise<Shopper[]> {
  const jwt = new JwtService({ secret, signOptions: { expiresIn: 3600, algorithm: 'HS256' } });
  const hash = await hashPassword(randomBytes(12).toString('hex'));
  const shoppers: Shopper[] = [];
  for (let i = 0; i < count; i += 500) {
    const ids = Array.from({ length: Math.min(500, count - i) }, () => randomUUID());
    const rows = ids.map(
      (_, j) => `($${j * 2 + 1}::uuid, $${j * 2 + 2}, '+14155550100', $${ids.length * 2 + 1}, 'Shopper')`,
    );
    await db.query(`INSERT INTO users (id, email, phone, password_hash, name) VALUES ${rows.join(',')}`, [
      ...ids.flatMap((id) => [id, `shopper-${id}@demo.flash-sale.local`]),
      hash,
    ]);
    for (const id of ids) shoppers.push({ id, token: jwt.sign({ sub: id, role: 'CUSTOMER' }) });
  }
  return shoppers;
}

interface Stats {
  stock: number;
  remaining: number | null;
  admitted: number;
  refusals: Record<string, number>;
  ordersByStatus: Record<string, number>;
  backlog: { tickets: number; queuedJobs: number };
  stockOfRecord: number;
}

/** The answer of the queue routes (the waiting room's contract). */
interface QueueAnswer {
  state: string;
  position: number | null;
  refreshAfterSeconds: number;
  admission: { token: string; expiresAt: string } | null;
  queueToken?: string | null;
  code?: string;
}

/**
 * A shopper keeps polling in these states (and after these refusals); any other ends the wait (sold out
 * included: the demo does not stay for returned units).
 */
const KEEP_WAITING = new Set(['prequeue', 'waiting', 'UNAVAILABLE', 'RATE_LIMITED', 'BUSY']);

async function main(): Promise<void> {
  loadDotEnv();
  const o = options();
  const databaseUrl = process.env.DATABASE_URL;
  const secret = process.env.JWT_SECRET;
  if (!databaseUrl || !secret)
    throw new Error('DATABASE_URL and JWT_SECRET are needed (run scripts/up.sh first; it writes .env)');
  const health = await call(o.url, 'GET', '/health').catch(() => null);
  if (health?.status !== 200)
    throw new Error(`the API at ${o.url} does not answer /health (start it with scripts/up.sh)`);

  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const admin = await createAdmin(o, db);
    const human = await register(o, 'shopper', 'You');
    const startsAt = new Date(Date.now() + o.startIn * 1000);
    // Shoppers let in per second: the crowd's share of the stock over about the spike's length.
    const admitPerSecond = Math.max(5, Math.ceil(Math.min(o.shoppers, o.stock * 1.5) / o.spikeSeconds));
    const sale = await call<{ id: string; name: string }>(o.url, 'POST', '/admin/sales', {
      token: admin.token,
      body: {
        name: `Demo sale ${startsAt.toISOString().slice(11, 19)}`,
        sku: `DEMO-${randomBytes(3).toString('hex').toUpperCase()}`,
        price: 1999,
        stock: o.stock,
        perUserLimit: 1,
        startsAt: startsAt.toISOString(),
        endsAt: new Date(startsAt.getTime() + 30 * 60_000).toISOString(),
        paymentWindowSeconds: 600,
        waitingRoom: { admitPerSecond, maxActive: o.stock * 2, claimSeconds: 60 },
      },
    });
    if (sale.status !== 201) throw new Error(`sale not created: ${JSON.stringify(sale.body)}`);
    const preheat = await call(o.url, 'POST', `/admin/sales/${sale.body.id}/preheat`, { token: admin.token });
    if (preheat.status !== 200) throw new Error(`sale not preheated: ${JSON.stringify(preheat.body)}`);

    console.log('');
    say(`admin:      ${admin.email}  password: ${admin.password}`);
    say(`shopper:    ${human.email}  password: ${human.password}   (for the shop page)`);
    say(`shop page:  ${o.url}/shop/?sale=${sale.body.id}   (sign in with the shopper above and join the queue)`);
    say(`live view:  ${o.url}/admin/live   (sign in there with the admin above)`);
    say(`queues:     ${o.url}/admin/queues`);
    say(`API docs:   ${o.url}/docs`);
    say(`mail UI:    ${o.mailUi}   (when Mailpit runs: docker compose up -d mailpit)`);
    say(
      `sale:       "${sale.body.name}" (${sale.body.id}), ${o.stock} units, 1 per shopper, starts ${startsAt.toLocaleTimeString()}, waiting room letting in ${admitPerSecond}/s`,
    );
    console.log('');

    const shoppers = await createShoppers(o.shoppers, db, secret);
    say(
      `${shoppers.length} shoppers ready; the sale starts in ${Math.max(0, Math.round((startsAt.getTime() - Date.now()) / 1000))} s`,
    );

    // The crowd, through the room: half join the pre-queue now, the rest over the spike; each polls
    // no sooner than told and buys once admitted. A twentieth try to buy without an admission first
    // (ADMISSION_REQUIRED), a tenth send their purchase twice at once with the same admission.
    const outcomes = new Map<string, number>();
    const admittedBy = new Map<string, string[]>();
    const tally = (key: string): void => void outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    const http = limiter(50);
    const saleId = sale.body.id;
    const queueAnswer = (res: Answer<QueueAnswer>): QueueAnswer =>
      res.status === 200 ? res.body : { ...res.body, state: res.body.code ?? String(res.status) };
    const buysWithout = { tried: 0, admitted: 0 };
    const buysPerAdmission = new Map<string, number>();
    const purchase = async (s: Shopper, admission?: string): Promise<void> => {
      const headers: Record<string, string> = admission ? { 'admission-token': admission } : {};
      const res = await http(() =>
        call<{ orderId?: string; code?: string }>(o.url, 'POST', `/sales/${saleId}/orders`, {
          token: s.token,
          body: {},
          headers,
        }),
      );
      tally(res.status === 202 ? 'bought' : (res.body.code ?? String(res.status)));
      if (res.status === 202 && res.body.orderId)
        admittedBy.set(s.id, [...(admittedBy.get(s.id) ?? []), res.body.orderId]);
      if (!admission) buysWithout.tried++;
      if (!admission && res.status === 202) buysWithout.admitted++;
      if (admission && res.status === 202) buysPerAdmission.set(admission, (buysPerAdmission.get(admission) ?? 0) + 1);
    };
    const pushy = new Set(shoppers.slice(0, Math.ceil(shoppers.length / 20)));
    const eager = new Set(shoppers.slice(pushy.size, pushy.size + Math.ceil(shoppers.length / 10)));
    const endOfWaiting = startsAt.getTime() + o.spikeSeconds * 1000 + 60_000;
    const shop = async (s: Shopper): Promise<void> => {
      let answer = queueAnswer(
        await http(() => call<QueueAnswer>(o.url, 'POST', `/sales/${saleId}/queue`, { token: s.token })),
      );
      while (KEEP_WAITING.has(answer.state) && Date.now() < endOfWaiting) {
        await sleep(Math.max(1, answer.refreshAfterSeconds ?? 1) * 1000);
        const headers: Record<string, string> = answer.queueToken ? { 'queue-token': answer.queueToken } : {};
        answer = queueAnswer(
          await http(() => call<QueueAnswer>(o.url, 'GET', `/sales/${saleId}/queue`, { token: s.token, headers })),
        );
      }
      tally(`queue: ${answer.state}`);
      if (answer.state !== 'admitted' || !answer.admission) return;
      if (pushy.has(s)) await purchase(s);
      const token = answer.admission.token;
      await (eager.has(s) ? Promise.all([purchase(s, token), purchase(s, token)]) : purchase(s, token));
    };
    const early = shoppers.slice(0, Math.ceil(shoppers.length / 2));
    const late = shoppers.slice(early.length);
    const crowd = early.map((s) => shop(s));
    await sleep(Math.max(0, startsAt.getTime() - Date.now() + 100));
    say('the sale is open: spike');
    const perTick = Math.max(1, Math.ceil(late.length / (o.spikeSeconds * 10)));
    for (let i = 0; i < late.length; i += perTick) {
      crowd.push(...late.slice(i, i + perTick).map((s) => shop(s)));
      await sleep(100);
    }
    await Promise.all(crowd);
    say(`spike done: ${[...outcomes].map(([k, n]) => `${k} ${n}`).join(', ')}`);

    // Orders become AWAITING_PAYMENT as the workers drain the backlog.
    const admittedOrders = [...admittedBy.values()].flat();
    const crowdOrders = async (): Promise<Record<string, number>> => {
      const { rows } = await db.query<{ status: string; n: string }>(
        `SELECT status, count(*) AS n FROM orders WHERE sale_id = $1 AND user_id = ANY($2::uuid[]) GROUP BY status`,
        [saleId, shoppers.map((s) => s.id)],
      );
      return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
    };
    const stats = async (): Promise<Stats> =>
      (await call<Stats>(o.url, 'GET', `/admin/sales/${saleId}/stats`, { token: admin.token })).body;
    let mine = await crowdOrders();
    const deadline = Date.now() + 60_000;
    while ((mine.AWAITING_PAYMENT ?? 0) < admittedOrders.length && Date.now() < deadline) {
      await sleep(250);
      mine = await crowdOrders();
    }
    say(`${mine.AWAITING_PAYMENT ?? 0} orders awaiting payment`);

    // A few pay, a few cancel (their units go back to the sale).
    const owners = [...admittedBy].map(([userId, orders]) => ({
      token: shoppers.find((s) => s.id === userId)!.token,
      orderId: orders[0]!,
    }));
    const paying = owners.slice(0, Math.ceil(owners.length / 10));
    const cancelling = owners.slice(paying.length, paying.length + Math.ceil(owners.length / 20));
    let paid = 0;
    let cancelled = 0;
    await pool(paying, 10, async ({ token, orderId }) => {
      if ((await call(o.url, 'POST', `/orders/${orderId}/pay`, { token })).status === 200) paid++;
    });
    await pool(cancelling, 10, async ({ token, orderId }) => {
      if ((await call(o.url, 'POST', `/orders/${orderId}/cancel`, { token })).status === 200) cancelled++;
    });
    say(`${paid} paid, ${cancelled} cancelled`);

    // Settled: no ticket waiting, cancelled units back in the gate and in the stock of record. Live
    // orders are every shopper's (someone on the shop page may have bought too).
    const liveOf = (by: Record<string, number>): number =>
      (by.PENDING ?? 0) + (by.AWAITING_PAYMENT ?? 0) + (by.PAID ?? 0) + (by.QUEUED ?? 0);
    const settled = Date.now() + 30_000;
    let current = await stats();
    while (
      (current.backlog.tickets > 0 ||
        (current.remaining ?? -1) + liveOf(current.ordersByStatus) !== current.stock ||
        current.stockOfRecord !== current.stock - liveOf(current.ordersByStatus)) &&
      Date.now() < settled
    ) {
      await sleep(250);
      current = await stats();
    }
    mine = await crowdOrders();
    const by = current.ordersByStatus;
    const live = liveOf(by);
    const persisted = Object.entries(mine).reduce((sum, [status, n]) => (status === 'QUEUED' ? sum : sum + n), 0);
    const fiveHundreds = [...outcomes]
      .filter(([code]) => /^5\d\d$|INTERNAL_ERROR/.test(code))
      .reduce((s, [, n]) => s + n, 0);
    const checks: [string, boolean][] = [
      [
        `every 202 became an order (${admittedOrders.length} admitted, ${persisted} orders)`,
        persisted === admittedOrders.length,
      ],
      [`no oversell (${live} live orders ≤ ${current.stock} units)`, live <= current.stock],
      [`no shopper above the limit of 1`, [...admittedBy.values()].every((orders) => orders.length <= 1)],
      [
        `no purchase without an admission (${buysWithout.tried} tried, ${buysWithout.admitted} let through)`,
        buysWithout.admitted === 0,
      ],
      [
        `no admission used twice (${buysPerAdmission.size} admissions bought with)`,
        [...buysPerAdmission.values()].every((n) => n === 1),
      ],
      [
        `gate remaining + live orders = stock (${current.remaining} + ${live} = ${current.stock})`,
        (current.remaining ?? -1) + live === current.stock,
      ],
      [
        `stock of record = stock − reserved (${current.stockOfRecord} = ${current.stock} − ${live})`,
        current.stockOfRecord === current.stock - live,
      ],
      [
        `paid and cancelled as asked (${mine.PAID ?? 0} PAID, ${mine.CANCELLED ?? 0} CANCELLED)`,
        (mine.PAID ?? 0) === paid && (mine.CANCELLED ?? 0) === cancelled,
      ],
      [`no 5xx answer`, fiveHundreds === 0],
    ];
    console.log('');
    say(`summary of "${sale.body.name}":`);
    say(`  answers: ${[...outcomes].map(([k, n]) => `${k} ${n}`).join(', ')}`);
    say(
      `  orders:  ${Object.entries(by)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')}; remaining ${current.remaining}`,
    );
    for (const [text, ok] of checks) say(`  ${ok ? '✓' : '✗'} ${text}`);
    say(`watch it at ${o.url}/admin/live (the sale stays on the view until 10 minutes after it ends)`);
    say(`shop page: ${o.url}/shop/?sale=${saleId} (units cancelled or unpaid go to those still in the queue)`);
    if (checks.some(([, ok]) => !ok)) process.exitCode = 1;
  } finally {
    await db.end();
  }
}

main().catch((err: unknown) => {
  console.error(`[demo] ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
