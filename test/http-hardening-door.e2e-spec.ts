import { once } from 'node:events';
import { execFile } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AppConfig } from '../src/infra/config/app-config.js';
import { buy, createActiveSale, query } from './support/buy.js';
import { startFixture, type ApiFixture } from './support/fixture.js';
import { startApi, type RunningApi } from './support/http.js';
import type { TestUser } from './support/users.js';

/** What a raw connection saw: everything the server wrote, and after how long the server closed it. */
interface Seen {
  text: string;
  closedAfterMs: number;
}

/** A raw connection to the API; `drip` writes one piece every `everyMs` until the server closes. */
function rawConnection(
  url: string,
  {
    first = '',
    drip = '',
    everyMs = 200,
    capMs = 30_000,
  }: { first?: string; drip?: string; everyMs?: number; capMs?: number },
): { socket: Socket; seen: Promise<Seen> } {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  const started = Date.now();
  let text = '';
  const seen = new Promise<Seen>((resolve) => {
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.on('error', () => undefined);
    // The test's own bound: a server that never closes fails the expectations below, not the run.
    const cap = setTimeout(() => socket.destroy(), capMs);
    let dripper: NodeJS.Timeout | undefined;
    socket.on('connect', () => {
      if (first) socket.write(first);
      if (drip) dripper = setInterval(() => socket.writable && socket.write(drip), everyMs);
    });
    socket.on('close', () => {
      clearTimeout(cap);
      clearInterval(dripper);
      resolve({ text, closedAfterMs: Date.now() - started });
    });
  });
  return { socket, seen };
}

const run = promisify(execFile);

/**
 * Four shoppers at once, each posting 5 MB bodies eight times to two routes
 * (one public, one behind the token) and once as a stream of unknown length;
 * prints the count of each answer (`<status> <code>`, or the fetch failure).
 */
const FETCH_BIG_BODIES = `
const [url, token] = process.argv.slice(1);
const big = 'x'.repeat(5_000_000);
const counts = {};
const note = (k) => (counts[k] = (counts[k] ?? 0) + 1);
async function post(path, body, extra = {}) {
  try {
    const res = await fetch(url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer ' + token },
      body, ...extra,
    });
    const text = await res.text();
    note(res.status + ' ' + JSON.parse(text).code);
  } catch (err) {
    note('failed ' + (err.cause?.code ?? err.message));
  }
}
const stream = () => new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode(big)); c.close(); } });
await Promise.all([0, 1, 2, 3].map(async () => {
  for (let i = 0; i < 8; i++) {
    await post('/auth/register', big);
    await post('/sales/00000000-0000-4000-8000-000000000000/orders', big);
  }
  await post('/auth/register', stream(), { duplex: 'half' });
}));
console.log(JSON.stringify(counts));
`;

async function fetchInChild(script: string, args: string[]): Promise<Record<string, number>> {
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script, ...args], { timeout: 120_000 });
  return JSON.parse(stdout) as Record<string, number>;
}

function bodyOf(text: string): unknown {
  return JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));
}

const HEADERS_S = 1;
const REQUEST_S = 2;
const KEEP_ALIVE_S = 1;
/** Node looks for late requests once a second; a loaded machine adds its own delay. */
const SLACK_MS = 4000;

describe('The door: request, header and keep-alive timeouts, the connection cap, a 413 the client can read', () => {
  let fx: ApiFixture;
  let config: AppConfig;
  let api: RunningApi;
  let admin: TestUser;
  let users: TestUser[];

  beforeAll(async () => {
    fx = await startFixture('door', {
      env: {
        HEADERS_TIMEOUT_SECONDS: String(HEADERS_S),
        REQUEST_TIMEOUT_SECONDS: String(REQUEST_S),
        KEEP_ALIVE_TIMEOUT_SECONDS: String(KEEP_ALIVE_S),
        RATE_LIMIT_IP_PER_SECOND: '100000',
      },
      users: 60,
    });
    ({ config, api, admin, users } = fx);
  });

  afterAll(async () => {
    await fx.close();
  });

  it('headers trickled a line at a time: 408 REQUEST_TIMEOUT in the house format, connection closed', async () => {
    const { seen } = rawConnection(api.url, { first: 'GET /sales HTTP/1.1\r\nHost: x\r\n', drip: 'X-Slow: 1\r\n' });
    const { text, closedAfterMs } = await seen;
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(text.toLowerCase()).toContain('connection: close');
    expect(bodyOf(text)).toEqual({ statusCode: 408, code: 'REQUEST_TIMEOUT', message: expect.any(String) });
    expect(closedAfterMs).toBeGreaterThanOrEqual(HEADERS_S * 1000 - 100);
    expect(closedAfterMs).toBeLessThan(HEADERS_S * 1000 + SLACK_MS);
  });

  it('a body trickled a byte at a time: 408 and closed; the purchase never ran', async () => {
    const sale = await createActiveSale(api.url, admin, { stock: 5 });
    const body = '{"quantity": 1}';
    const { seen } = rawConnection(api.url, {
      first:
        `POST /sales/${sale.id}/orders HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${users[0]!.token}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length + 200}\r\n\r\n${body}`,
      drip: ' ',
    });
    const { text, closedAfterMs } = await seen;
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(bodyOf(text)).toMatchObject({ code: 'REQUEST_TIMEOUT' });
    expect(closedAfterMs).toBeGreaterThanOrEqual(REQUEST_S * 1000 - 100);
    expect(closedAfterMs).toBeLessThan(REQUEST_S * 1000 + SLACK_MS);
    expect(await query(fx.db.url, 'SELECT 1 FROM orders WHERE sale_id = $1', [sale.id])).toEqual([]);
  });

  it('a connection that never sends anything is closed after the headers timeout', async () => {
    const { text, closedAfterMs } = await rawConnection(api.url, {}).seen;
    expect(text === '' || /^HTTP\/1\.1 408 /.test(text)).toBe(true);
    expect(closedAfterMs).toBeLessThan(HEADERS_S * 1000 + SLACK_MS);
  });

  it('a purchase written just after the headers timeout refused its idle connection never runs', async () => {
    // The race seen in bench:room: Node's timer refuses an idle connection (408) while the client's
    // first request is on its way; the request must not run (its client reads the 408, not a 202).
    const sale = await createActiveSale(api.url, admin, { stock: 5 });
    const { hostname, port } = new URL(api.url);
    const socket = connect({ port: Number(port), host: hostname, allowHalfOpen: true });
    socket.on('error', () => undefined);
    let text = '';
    const refused = new Promise<void>((resolve) =>
      socket.on('data', (d: Buffer) => {
        text += d.toString('latin1');
        if (text.includes('\r\n\r\n')) resolve();
      }),
    );
    const closed = once(socket, 'close');
    const cap = setTimeout(() => socket.destroy(), 30_000);
    await refused;
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    const body = '{"quantity": 1}';
    socket.write(
      `POST /sales/${sale.id}/orders HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${users[1]!.token}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    socket.end();
    await closed;
    clearTimeout(cap);
    // Had it run, the shopper's one unit (perUserLimit 1) would be taken: a purchase now is refused.
    const again = await buy(api.url, users[1]!, sale.id);
    expect(again.status).toBe(202);
  });

  it('an idle keep-alive connection is closed after the keep-alive timeout', async () => {
    const { seen } = rawConnection(api.url, { first: 'GET /sales HTTP/1.1\r\nHost: x\r\n\r\n' });
    const { text, closedAfterMs } = await seen;
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    expect(text.toLowerCase()).toContain(`keep-alive: timeout=${KEEP_ALIVE_S}`);
    expect(closedAfterMs).toBeLessThan(KEEP_ALIVE_S * 1000 + SLACK_MS);
  });

  it('beyond MAX_CONNECTIONS a request gets 503 TOO_MANY_CONNECTIONS with Retry-After, and a close', async () => {
    const capped = await startApi({
      ...config,
      MAX_CONNECTIONS: 3,
      HEADERS_TIMEOUT_SECONDS: 20,
      REQUEST_TIMEOUT_SECONDS: 20,
    });
    const held = [0, 1, 2].map(() => rawConnection(capped.url, { capMs: 60_000 }));
    try {
      await Promise.all(held.map(({ socket }) => once(socket, 'connect')));
      const { text } = await rawConnection(capped.url, { first: 'GET /sales HTTP/1.1\r\nHost: x\r\n\r\n' }).seen;
      expect(text).toMatch(/^HTTP\/1\.1 503 /);
      expect(text.toLowerCase()).toContain('retry-after: ');
      expect(bodyOf(text)).toEqual({ statusCode: 503, code: 'TOO_MANY_CONNECTIONS', message: expect.any(String) });
      // One of the held connections leaves: there is room again.
      held[0]!.socket.destroy();
      await held[0]!.seen;
      const { text: again } = await rawConnection(capped.url, {
        first: 'GET /sales HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      }).seen;
      expect(again).toMatch(/^HTTP\/1\.1 200 /);
    } finally {
      for (const { socket } of held) socket.destroy();
      await capped.close();
    }
  });

  it('a 5 MB body: fetch (in another process) reads the 413 PAYLOAD_TOO_LARGE, declared or streamed', async () => {
    // The client in its own process, as a shopper's is: in this one, the reset that a plain close sends
    // would rarely beat fetch to the answer (measured here without the lingering close: 39 of 68 failed with EPIPE).
    const answers = await fetchInChild(FETCH_BIG_BODIES, [api.url, users[1]!.token]);
    const sent = 4 * 8 * 2 + 4;
    // Measured with the lingering close: 68 of 68 in most runs, 66 of 68 in one CI run (the linger
    // reads at most LINGER_BYTES, 1 MB, of a 5 MB body before it closes). Without it: 29 of 68.
    expect(Object.keys(answers).filter((k) => k !== '413 PAYLOAD_TOO_LARGE' && k !== 'failed EPIPE')).toEqual([]);
    expect(answers['413 PAYLOAD_TOO_LARGE']).toBeGreaterThanOrEqual(Math.ceil(sent * 0.9));
  });

  it('1,000 slow connections held open: purchases are still answered at once', async () => {
    // Its own API with a longer headers timeout, so the slow connections are all held while purchases are timed.
    const door = await startApi({ ...config, HEADERS_TIMEOUT_SECONDS: 20, REQUEST_TIMEOUT_SECONDS: 20 });
    const sale = await createActiveSale(door.url, admin, { stock: 1000 });
    const timeBuys = async (from: number): Promise<number[]> => {
      const times: number[] = [];
      for (const u of users.slice(from, from + 20)) {
        const t0 = performance.now();
        const res = await buy(door.url, u, sale.id);
        times.push(performance.now() - t0);
        expect(res.status).toBe(202);
      }
      return times.sort((a, b) => a - b);
    };
    const quiet = await timeBuys(10);
    const slow = Array.from({ length: 1000 }, () =>
      rawConnection(door.url, { first: 'GET /sales HTTP/1.1\r\nHost: x\r\n', drip: 'X-Slow: 1\r\n', everyMs: 500 }),
    );
    let closedEarly = 0;
    for (const s of slow) void s.seen.then(() => closedEarly++);
    try {
      await Promise.all(slow.map(({ socket, seen }) => Promise.race([once(socket, 'connect'), seen])));
      const t0 = Date.now();
      const busy = await timeBuys(30);
      console.log(`held: ${slow.length - closedEarly} of ${slow.length}; buys took ${Date.now() - t0} ms`);
      expect(closedEarly).toBe(0); // all 1,000 were open while the purchases were timed
      const median = (t: number[]) => t[Math.floor(t.length / 2)]!;
      const p90 = (t: number[]) => t[Math.floor(t.length * 0.9)]!;
      console.log(
        `purchase latency over 20 sequential buys (median / p90): ${median(quiet).toFixed(1)} / ${p90(quiet).toFixed(1)} ms quiet, ` +
          `${median(busy).toFixed(1)} / ${p90(busy).toFixed(1)} ms with 1,000 slow connections held`,
      );
    } finally {
      for (const { socket } of slow) socket.destroy();
      await door.close();
    }
  }, 180_000);
});
