import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import net from 'node:net';
import { coalesceWrites, openCoalescedSocket } from './coalesced-socket.js';

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('coalesced writes', () => {
  let server: net.Server;
  let port: number;
  const received: Buffer[] = [];

  beforeAll(async () => {
    server = net.createServer((socket) => socket.on('data', (chunk: Buffer) => received.push(chunk)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  // (every test destroys its sockets, so the close does not wait on them)

  it('holds the writes of one turn and sends them together at its end, in order', async () => {
    const socket = await new Promise<net.Socket>((resolve, reject) =>
      openCoalescedSocket({ host: '127.0.0.1', port }, 2000, (err, opened) =>
        err ? reject(err) : resolve(opened!.connection),
      ),
    );
    try {
      let syscalls = 0;
      // One call of the stream's _writev per batch that leaves (a lone chunk would go through _write).
      const writev = socket._writev!.bind(socket);
      socket._writev = (chunks, callback) => {
        syscalls++;
        writev(chunks, callback);
      };
      for (const part of ['MAIL FROM:<a@b.c>\r\n', 'RCPT TO:<d@e.f>\r\n', 'DATA\r\n']) socket.write(part);
      expect(socket.writableCorked).toBe(1);
      await nextTurn();
      expect(socket.writableCorked).toBe(0);
      expect(syscalls).toBe(1);
      socket.write('Subject: hi\r\n');
      socket.write('\r\n.\r\n');
      await nextTurn();
      expect(syscalls).toBe(2);
      const expected = 'MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\nSubject: hi\r\n\r\n.\r\n';
      const deadline = Date.now() + 5000;
      while (Buffer.concat(received).toString() !== expected && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      expect(Buffer.concat(received).toString()).toBe(expected);
    } finally {
      socket.destroy();
    }
  });

  it('keeps the socket usable as a plain one (end, destroy)', async () => {
    const socket = coalesceWrites(net.connect({ host: '127.0.0.1', port }));
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.end('bye');
    await new Promise((resolve) => socket.once('close', resolve));
    expect(socket.destroyed).toBe(true);
  });

  it('fails with the connection error when nothing listens', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const freePort = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const err = await new Promise<Error | null>((resolve) =>
      openCoalescedSocket({ host: '127.0.0.1', port: freePort }, 2000, (e) => resolve(e)),
    );
    expect((err as NodeJS.ErrnoException | null)?.code).toBe('ECONNREFUSED');
  });
});
