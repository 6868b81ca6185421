/**
 * A lean HTTP/1.1 load generator for measuring a server's own CPU per request:
 * keep-alive connections, each sending its next request (built beforehand)
 * as soon as the previous answer arrived. It does one job, so it stays out of
 * the server's way far better than a general tool with a per-request hook.
 */
import { connect, type Socket } from 'node:net';

export interface BlastResult {
  statuses: Record<number, number>;
  seconds: number;
}

/**
 * Sends every request once over `connections` sockets; answers must carry a
 * Content-Length (no chunked bodies).
 */
export function blast(port: number, requests: Buffer[], connections: number): Promise<BlastResult> {
  const statuses: Record<number, number> = {};
  let next = 0;
  let done = 0;
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const sockets: Socket[] = [];
    const finish = (): void => {
      for (const s of sockets) s.destroy();
      resolve({ statuses, seconds: (Date.now() - started) / 1000 });
    };
    for (let c = 0; c < Math.min(connections, requests.length); c++) {
      const socket = connect(port, '127.0.0.1');
      socket.setNoDelay(true);
      sockets.push(socket);
      let buffer: Buffer = Buffer.alloc(0);
      const send = (): void => {
        if (next < requests.length) socket.write(requests[next++]!);
      };
      socket.on('connect', send);
      socket.on('error', reject);
      socket.on('data', (chunk: Buffer) => {
        buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
        for (;;) {
          const end = buffer.indexOf('\r\n\r\n');
          if (end < 0) return;
          const head = buffer.subarray(0, end).toString('latin1');
          const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
          if (buffer.length < end + 4 + length) return;
          const status = Number(head.slice(9, 12));
          statuses[status] = (statuses[status] ?? 0) + 1;
          buffer = buffer.subarray(end + 4 + length);
          if (++done === requests.length) return finish();
          send();
        }
      });
    }
  });
}

/** A POST with a JSON body and a bearer token, as bytes. */
export function postRequest(path: string, token: string, body = '{}'): Buffer {
  return Buffer.from(
    `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n` +
      `authorization: Bearer ${token}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
