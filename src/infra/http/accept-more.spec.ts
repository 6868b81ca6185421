import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { acceptMore } from './accept-more.js';

const busy = (ms: number): void => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};

describe('acceptMore', () => {
  const sockets: Socket[] = [];
  const servers: Server[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      if (server.listening) await new Promise((done) => server.close(done));
    }
  });

  async function listening(perTurn: number): Promise<{ server: Server; port: number; descriptors: number }> {
    const server = createServer((_req, res) => res.end('ok'));
    servers.push(server);
    await new Promise<void>((done) => server.listen({ port: 0, host: '127.0.0.1', backlog: 512 }, done));
    const descriptors = await acceptMore(server, perTurn, 512);
    return { server, port: (server.address() as AddressInfo).port, descriptors };
  }

  /**
   * Opens `n` connections while the event loop is busy (the kernel completes
   * them meanwhile); how many the server has accepted when the loop's next
   * turn reaches its check phase.
   */
  async function acceptedInOneTurn(perTurn: number, n: number): Promise<number> {
    const { server, port } = await listening(perTurn);
    let accepted = 0;
    server.on('connection', () => accepted++);
    // From a timer: the connects go out on the next tick, the loop is then held while the kernel
    // queues them, and the next poll phase accepts what it accepts before the check phase counts.
    await new Promise((done) => setTimeout(done, 0));
    for (let i = 0; i < n; i++) sockets.push(connect(port, '127.0.0.1'));
    const atCheck = await new Promise<number>((done) =>
      process.nextTick(() => {
        busy(100);
        setImmediate(() => done(accepted));
      }),
    );
    // All of them in the end, whatever the turn.
    while (accepted < n) await new Promise((done) => setImmediate(done));
    return atCheck;
  }

  it('accepts up to perTurn connections in one turn of the loop', async () => {
    expect(await acceptedInOneTurn(8, 8)).toBe(8);
  });

  it('Node alone accepts one (what the test above would see without it)', async () => {
    expect(await acceptedInOneTurn(1, 8)).toBe(1);
  });

  it('serves HTTP on the copies as on the server, and closing the server closes them all', async () => {
    const { server, port, descriptors } = await listening(4);
    expect(descriptors).toBe(4);
    const answers = await Promise.all(
      Array.from({ length: 20 }, async () => (await fetch(`http://127.0.0.1:${port}/`)).text()),
    );
    expect(answers).toEqual(Array(20).fill('ok'));
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
    const refused = connect(port, '127.0.0.1');
    sockets.push(refused);
    const [err] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
    expect(err.code).toBe('ECONNREFUSED');
  });
});
