import { once } from 'node:events';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { OverloadDoor } from './door.js';
import { PriorityTurns } from './priority-turns.js';

const busy = (ms: number): void => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};

describe('PriorityTurns', () => {
  it('runs nothing at once, then the line in arrival order', async () => {
    const turns = new PriorityTurns(5);
    const ran: string[] = [];
    turns.defer(() => ran.push('poll 1'));
    turns.defer(() => ran.push('join 1'));
    turns.defer(() => ran.push('poll 2'));
    ran.push('purchase');
    expect(turns.waiting).toBe(3);
    await new Promise((done) => setImmediate(done));
    expect(ran).toEqual(['purchase', 'poll 1', 'join 1', 'poll 2']);
    expect(turns.waiting).toBe(0);
    // Emptied and used again.
    turns.defer(() => ran.push('poll 3'));
    expect(turns.waiting).toBe(1);
    await new Promise((done) => setImmediate(done));
    expect(ran.at(-1)).toBe('poll 3');
  });

  it('ends a turn after turnMs and lets the loop run before the next one', async () => {
    const turns = new PriorityTurns(5);
    const ran: number[] = [];
    for (let i = 0; i < 10; i++)
      turns.defer(() => {
        busy(2);
        ran.push(i);
      });
    // Queued after the first turn: it runs when that turn has given the loop back.
    let between = -1;
    const io = new Promise<void>((done) =>
      setImmediate(() => {
        between = ran.length;
        done();
      }),
    );
    await io;
    expect(between).toBeGreaterThanOrEqual(1);
    expect(between).toBeLessThanOrEqual(4);
    while (turns.waiting > 0) await new Promise((done) => setImmediate(done));
    expect(ran).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});

describe('the door with purchases first', () => {
  const sockets: Socket[] = [];
  afterEach(() => {
    for (const s of sockets.splice(0)) s.destroy();
  });

  /**
   * Twenty polls and then a purchase, each on its own connection, all readable
   * in the same pass of the loop: the order in which the handler starts them.
   */
  async function startOrder(turnMs: number): Promise<string[]> {
    const door = new OverloadDoor({
      enabled: false,
      targetMs: 5,
      intervalMs: 100,
      maxElu: 0.99,
      initialLimit: 100,
      minLimit: 10,
      maxLimit: 1000,
      retryAfterSeconds: 1,
      turnMs,
      shedHoldMs: 0,
    });
    const started: string[] = [];
    const server = door.createServer(
      (req, res) => {
        started.push(`${req.method} ${req.url}`);
        res.end('ok');
      },
      { keepAliveTimeout: 5000, requestTimeout: 5000, connectionTimeout: 5000, maxRequestsPerSocket: 0 },
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    try {
      const requests = [...Array.from({ length: 20 }, (_, i) => `GET /sales/s/queue?n=${i}`), 'POST /sales/s/orders'];
      const conns = await Promise.all(
        requests.map(async () => {
          const s = connect(port, '127.0.0.1');
          sockets.push(s);
          await once(s, 'connect');
          return s;
        }),
      );
      // Let the server accept every connection before the requests go out.
      await new Promise((done) => setTimeout(done, 50));
      const answered = requests.map((_, i) => once(conns[i]!, 'data'));
      requests.forEach((line, i) =>
        conns[i]!.write(`${line} HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`),
      );
      // The requests reach the kernel while the loop is busy: the next pass finds them all readable.
      busy(50);
      await Promise.all(answered);
      return started;
    } finally {
      door.stop();
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
    }
  }

  it('starts a purchase before the polls that arrived with it', async () => {
    const order = await startOrder(2);
    expect(order).toHaveLength(21);
    expect(order[0]).toBe('POST /sales/s/orders');
  });

  it('in arrival order with turns off (what the test above would see without them)', async () => {
    const order = await startOrder(0);
    expect(order).toHaveLength(21);
    expect(order.indexOf('POST /sales/s/orders')).toBeGreaterThan(0);
  });
});
