import { once } from 'node:events';
import type { Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from '@jest/globals';
import { OverloadDoor } from './door.js';

/**
 * The door of a real node:http server with its limit pinned at 1: a purchase
 * whose handler never answers holds the one place, so every other counted
 * request is shed.
 */
async function pinnedDoor(shedHoldMs: number): Promise<{ door: OverloadDoor; server: Server; port: number }> {
  const door = new OverloadDoor({
    enabled: true,
    targetMs: 1000,
    intervalMs: 100,
    maxElu: 1,
    initialLimit: 1,
    minLimit: 1,
    maxLimit: 1,
    retryAfterSeconds: 1,
    turnMs: 2,
    shedHoldMs,
  });
  const server = door.createServer(
    (req, res) => {
      if (req.method !== 'POST') res.end('served');
    },
    { keepAliveTimeout: 5000, requestTimeout: 0, connectionTimeout: 0, maxRequestsPerSocket: 0 },
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { door, server, port: (server.address() as AddressInfo).port };
}

describe('the door sheds with a hold', () => {
  const sockets: Socket[] = [];
  const servers: { door: OverloadDoor; server: Server }[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    for (const { door, server } of servers.splice(0)) {
      door.stop();
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
    }
  });

  async function open(port: number): Promise<Socket> {
    const s = connect(port, '127.0.0.1');
    sockets.push(s);
    await once(s, 'connect');
    return s;
  }

  /** Pins the one place with a purchase, then sends a sale page on a new connection: its answer and when it came. */
  async function shedOne(shedHoldMs: number): Promise<{ head: string; ms: number; port: number }> {
    const pinned = await pinnedDoor(shedHoldMs);
    servers.push(pinned);
    const buyer = await open(pinned.port);
    buyer.write('POST /sales/s/orders HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n');
    while (pinned.door.limiter.inFlight < 1) await new Promise((done) => setImmediate(done));
    const browser = await open(pinned.port);
    const started = performance.now();
    const answer = once(browser, 'data');
    browser.write('GET /sales/s HTTP/1.1\r\nhost: x\r\n\r\n');
    const [chunk] = (await answer) as [Buffer];
    return { head: chunk.toString('latin1'), ms: performance.now() - started, port: pinned.port };
  }

  it('answers a shed request OVERLOADED only after half the hold or more', async () => {
    const { head, ms } = await shedOne(400);
    expect(head).toMatch(/^HTTP\/1\.1 503/);
    expect(head).toMatch(/"code":"OVERLOADED"/);
    expect(head).toMatch(/\r\nretry-after: [12]\r\n/i);
    expect(ms).toBeGreaterThanOrEqual(195);
  });

  it('with no hold, answers it without waiting for a timer', async () => {
    const { head } = await shedOne(0);
    expect(head).toMatch(/^HTTP\/1\.1 503/);
  });

  it('writes nothing for a client gone during the hold, and goes on serving', async () => {
    const pinned = await pinnedDoor(200);
    servers.push(pinned);
    const buyer = await open(pinned.port);
    buyer.write('POST /sales/s/orders HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n');
    while (pinned.door.limiter.inFlight < 1) await new Promise((done) => setImmediate(done));
    const leaver = await open(pinned.port);
    leaver.write('GET /sales/s HTTP/1.1\r\nhost: x\r\n\r\n');
    while (pinned.door.limiter.shed.browse.limit < 1) await new Promise((done) => setImmediate(done));
    leaver.destroy();
    // The place comes free: the buyer's connection closes, its request is done.
    buyer.destroy();
    while (pinned.door.limiter.inFlight > 0) await new Promise((done) => setImmediate(done));
    const browser = await open(pinned.port);
    const answer = once(browser, 'data');
    browser.write('GET /sales/s HTTP/1.1\r\nhost: x\r\n\r\n');
    const [chunk] = (await answer) as [Buffer];
    expect(chunk.toString('latin1')).toMatch(/^HTTP\/1\.1 200[\s\S]*served$/);
    // And the held answer's timer has fired on the gone socket without a throw.
    await new Promise((done) => setTimeout(done, 250));
  });
});

describe('the door in front of a waiting room', () => {
  const sockets: Socket[] = [];
  const doors: { door: OverloadDoor; server: Server }[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    for (const { door, server } of doors.splice(0)) {
      door.stop();
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
    }
  });

  /** A door with its limit pinned at `limit` (no hold): POSTs to /orders hold their place, everything else is answered. */
  async function door(limit: number): Promise<{ door: OverloadDoor; port: number }> {
    const d = new OverloadDoor({
      enabled: true,
      targetMs: 1000,
      intervalMs: 100,
      maxElu: 1,
      initialLimit: limit,
      minLimit: limit,
      maxLimit: limit,
      retryAfterSeconds: 1,
      turnMs: 2,
      shedHoldMs: 0,
    });
    const server = d.createServer(
      (req, res) => {
        if (!req.url?.endsWith('/orders')) res.end('served');
      },
      { keepAliveTimeout: 5000, requestTimeout: 0, connectionTimeout: 0, maxRequestsPerSocket: 0 },
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    doors.push({ door: d, server });
    return { door: d, port: (server.address() as AddressInfo).port };
  }

  async function send(port: number, head: string): Promise<string> {
    const s = connect(port, '127.0.0.1');
    sockets.push(s);
    await once(s, 'connect');
    const answer = once(s, 'data');
    s.write(`${head}\r\nhost: x\r\n\r\n`);
    const [chunk] = (await answer) as [Buffer];
    return chunk.toString('latin1');
  }

  async function buying(d: OverloadDoor, port: number): Promise<void> {
    const s = connect(port, '127.0.0.1');
    sockets.push(s);
    await once(s, 'connect');
    s.write('POST /sales/s/orders HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n');
    while (d.limiter.inFlight < 1) await new Promise((done) => setImmediate(done));
  }

  /** A queue token whose memo says: waiting, earliest estimate `low` s from now (the door does not check its MAC). */
  const queueToken = (low: number): string =>
    `${Buffer.from(JSON.stringify({ state: 'waiting', position: 3, low, high: low + 2, at: Date.now() })).toString('base64url')}.mac`;

  it('never sheds a join by the limit: it takes a place (a shed post-start join loses its order)', async () => {
    const { door: d, port } = await door(1);
    await buying(d, port);
    // The one place is held: a poll and a sale page are shed, the join is served.
    expect(await send(port, 'GET /sales/s/queue HTTP/1.1')).toMatch(/^HTTP\/1\.1 503/);
    expect(await send(port, 'GET /sales/s HTTP/1.1')).toMatch(/^HTTP\/1\.1 503/);
    expect(await send(port, 'POST /sales/s/queue HTTP/1.1\r\ncontent-length: 0')).toMatch(/^HTTP\/1\.1 200/);
    expect(d.limiter.shed.track).toEqual({ pressure: 0, limit: 0 });
    // Counted for the room's admitter (room/shed-grace.ts): the shed poll, not the sale page.
    expect(d.shedPolls).toBe(1);
  });

  it('never sheds a join by the pressure either, and does not hold a place in flight', async () => {
    const { door: d, port } = await door(100);
    await buying(d, port);
    d.limiter.pressure = 2;
    expect(await send(port, 'GET /me/orders HTTP/1.1')).toMatch(/^HTTP\/1\.1 503/);
    expect(await send(port, 'POST /sales/s/queue HTTP/1.1\r\ncontent-length: 0')).toMatch(/^HTTP\/1\.1 200/);
    expect(d.limiter.inFlight).toBe(1);
  });

  it('classes a poll from the head (its Queue-Token) with purchases: not shed while polls are', async () => {
    const { door: d, port } = await door(100);
    await buying(d, port);
    d.limiter.pressure = 1;
    expect(await send(port, 'GET /sales/s/queue HTTP/1.1')).toMatch(/^HTTP\/1\.1 503/);
    expect(await send(port, `GET /sales/s/queue HTTP/1.1\r\nqueue-token: ${queueToken(40)}`)).toMatch(
      /^HTTP\/1\.1 503/,
    );
    expect(await send(port, `GET /sales/s/queue HTTP/1.1\r\nqueue-token: ${queueToken(1)}`)).toMatch(/^HTTP\/1\.1 200/);
    expect(d.headPolls).toBe(1);
    expect(d.shedPolls).toBe(2);
  });
});
