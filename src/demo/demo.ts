/**
 * `npm run demo`: a small flash sale against the running system (after
 * scripts/up.sh), so there is something to watch. It creates an admin and
 * prints its credentials, creates a sale that starts in a few seconds, adds a
 * thousand shoppers, fires a short spike (some shoppers too early, some
 * twice), has a few pay and a few cancel, then prints a summary and checks
 * the invariants (exit 1 when one fails).
 *
 * Talks to the API over HTTP for everything but two things the API has no
 * route for: the admin account (made with POST /auth/register, then promoted
 * in Postgres) and the shoppers (rows in Postgres with tokens signed with the
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
      'start-in': { type: 'string', default: '10' },
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
  token?: string,
  body?: unknown,
): Promise<Answer<T>> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
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

interface Shopper {
  id: string;
  token: string;
}

async function createAdmin(o: Options, db: pg.Client): Promise<{ email: string; password: string; token: string }> {
  const email = `admin-${randomBytes(3).toString('hex')}@demo.flash-sale.local`;
  const password = randomBytes(9).toString('base64url');
  const registered = await call(o.url, 'POST', '/auth/register', undefined, {
    email,
    phone: '+10000000001',
    password,
    name: 'Demo admin',
  });
  if (registered.status !== 201) throw new Error(`admin not registered: ${JSON.stringify(registered.body)}`);
  await db.query(`UPDATE users SET role = 'ADMIN' WHERE email = $1`, [email]);
  const login = await call<{ accessToken: string }>(o.url, 'POST', '/auth/login', undefined, { email, password });
  if (login.status !== 200) throw new Error(`admin cannot sign in: ${JSON.stringify(login.body)}`);
  return { email, password, token: login.body.accessToken };
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
    const startsAt = new Date(Date.now() + o.startIn * 1000);
    const sale = await call<{ id: string; name: string }>(o.url, 'POST', '/admin/sales', admin.token, {
      name: `Demo sale ${startsAt.toISOString().slice(11, 19)}`,
      sku: `DEMO-${randomBytes(3).toString('hex').toUpperCase()}`,
      price: 1999,
      stock: o.stock,
      perUserLimit: 1,
      startsAt: startsAt.toISOString(),
      endsAt: new Date(startsAt.getTime() + 30 * 60_000).toISOString(),
      paymentWindowSeconds: 600,
    });
    if (sale.status !== 201) throw new Error(`sale not created: ${JSON.stringify(sale.body)}`);
    const preheat = await call(o.url, 'POST', `/admin/sales/${sale.body.id}/preheat`, admin.token);
    if (preheat.status !== 200) throw new Error(`sale not preheated: ${JSON.stringify(preheat.body)}`);

    console.log('');
    say(`admin:      ${admin.email}  password: ${admin.password}`);
    say(`live view:  ${o.url}/admin/live   (sign in there with the admin above)`);
    say(`queues:     ${o.url}/admin/queues`);
    say(`API docs:   ${o.url}/docs`);
    say(`mail UI:    ${o.mailUi}   (when Mailpit runs: docker compose up -d mailpit)`);
    say(
      `sale:       "${sale.body.name}" (${sale.body.id}), ${o.stock} units, 1 per shopper, starts ${startsAt.toLocaleTimeString()}`,
    );
    console.log('');

    const shoppers = await createShoppers(o.shoppers, db, secret);
    say(
      `${shoppers.length} shoppers ready; the sale starts in ${Math.max(0, Math.round((startsAt.getTime() - Date.now()) / 1000))} s`,
    );

    // The spike: a tenth come a second early, everyone once, a tenth twice at the start, spread over --spike-seconds.
    const outcomes = new Map<string, number>();
    const admittedBy = new Map<string, string[]>();
    const tally = (key: string): void => void outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    const attempt = async (s: Shopper): Promise<void> => {
      const res = await call<{ orderId?: string; code?: string }>(
        o.url,
        'POST',
        `/sales/${sale.body.id}/orders`,
        s.token,
        {},
      );
      tally(res.status === 202 ? 'admitted' : (res.body.code ?? String(res.status)));
      if (res.status === 202 && res.body.orderId)
        admittedBy.set(s.id, [...(admittedBy.get(s.id) ?? []), res.body.orderId]);
    };
    const early = shoppers.slice(0, Math.ceil(shoppers.length / 10));
    await sleep(Math.max(0, startsAt.getTime() - Date.now() - 1000));
    await pool(early, 20, attempt);
    await sleep(Math.max(0, startsAt.getTime() - Date.now() + 100));
    say('the sale is open: spike');
    const eager = shoppers.slice(early.length, early.length * 2); // they try twice, at once: LIMIT_EXCEEDED
    const wave = [...eager, ...eager, ...shoppers.filter((s) => !eager.includes(s))];
    const perTick = Math.ceil(wave.length / (o.spikeSeconds * 10));
    for (let i = 0; i < wave.length; i += perTick) {
      const tick = sleep(100);
      await Promise.all([pool(wave.slice(i, i + perTick), 50, attempt), tick]);
    }
    say(`spike done: ${[...outcomes].map(([k, n]) => `${k} ${n}`).join(', ')}`);

    // Orders become AWAITING_PAYMENT as the workers drain the backlog.
    const admittedOrders = [...admittedBy.values()].flat();
    const stats = async (): Promise<Stats> =>
      (await call<Stats>(o.url, 'GET', `/admin/sales/${sale.body.id}/stats`, admin.token)).body;
    let current = await stats();
    const deadline = Date.now() + 60_000;
    while ((current.ordersByStatus.AWAITING_PAYMENT ?? 0) < admittedOrders.length && Date.now() < deadline) {
      await sleep(250);
      current = await stats();
    }
    say(`${current.ordersByStatus.AWAITING_PAYMENT ?? 0} orders awaiting payment`);

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
      if ((await call(o.url, 'POST', `/orders/${orderId}/pay`, token)).status === 200) paid++;
    });
    await pool(cancelling, 10, async ({ token, orderId }) => {
      if ((await call(o.url, 'POST', `/orders/${orderId}/cancel`, token)).status === 200) cancelled++;
    });
    say(`${paid} paid, ${cancelled} cancelled`);

    // Settled: no ticket waiting, cancelled units back in the gate and in the stock of record.
    const holding = o.stock - admittedOrders.length + cancelled;
    const settled = Date.now() + 30_000;
    current = await stats();
    while (
      (current.backlog.tickets > 0 || current.remaining !== holding || current.stockOfRecord !== holding) &&
      Date.now() < settled
    ) {
      await sleep(250);
      current = await stats();
    }
    const by = current.ordersByStatus;
    const live = (by.PENDING ?? 0) + (by.AWAITING_PAYMENT ?? 0) + (by.PAID ?? 0) + (by.QUEUED ?? 0);
    const persisted = Object.entries(by).reduce((sum, [status, n]) => (status === 'QUEUED' ? sum : sum + n), 0);
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
        `gate remaining + live orders = stock (${current.remaining} + ${live} = ${current.stock})`,
        (current.remaining ?? -1) + live === current.stock,
      ],
      [
        `stock of record = stock − reserved (${current.stockOfRecord} = ${current.stock} − ${live})`,
        current.stockOfRecord === current.stock - live,
      ],
      [
        `paid and cancelled as asked (${by.PAID ?? 0} PAID, ${by.CANCELLED ?? 0} CANCELLED)`,
        by.PAID === paid && by.CANCELLED === cancelled,
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
    if (checks.some(([, ok]) => !ok)) process.exitCode = 1;
  } finally {
    await db.end();
  }
}

main().catch((err: unknown) => {
  console.error(`[demo] ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
