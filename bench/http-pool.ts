/**
 * A lean HTTP/1.1 client for the room bench: a fixed pool of keep-alive
 * connections and a queue of requests built beforehand as bytes; each free
 * connection takes the next request. Many simulated shoppers share the pool
 * the way a load balancer's connections would, and the generator stays cheap
 * (no per-request objects beyond the answer). Answers must carry a
 * Content-Length (Fastify's JSON answers do).
 */
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface Answer {
  status: number;
  body: string;
  /** The Retry-After header in seconds, when there is one. */
  retryAfter: number | undefined;
  /** performance.now() when the request was written and when its answer was complete. */
  sentAt: number;
  answeredAt: number;
  /** performance.now() when the request was handed to the pool (before waiting for a connection). */
  queuedAt: number;
}

interface Pending {
  bytes: Buffer;
  queuedAt: number;
  done: (answer: Answer) => void;
}

interface Connection {
  socket: Socket;
  current: Pending | undefined;
  sentAt: number;
  buffer: Buffer;
}

export class HttpPool {
  private readonly queue: Pending[] = [];
  private head = 0;
  private readonly idle: Connection[] = [];
  private readonly all = new Set<Connection>();
  private closed = false;
  /** Requests whose connection broke and that were sent again. */
  resent = 0;

  constructor(
    private readonly port: number,
    size: number,
  ) {
    for (let i = 0; i < size; i++) this.open();
  }

  /** Requests waiting for a connection. */
  get waiting(): number {
    return this.queue.length - this.head;
  }

  send(bytes: Buffer): Promise<Answer> {
    return new Promise((done) => this.enqueue({ bytes, queuedAt: performance.now(), done }));
  }

  /** Sends every request (in order, as connections free up) and resolves with the answers in the same order. */
  sendAll(requests: Buffer[], onAnswer?: (index: number, answer: Answer) => void): Promise<Answer[]> {
    return Promise.all(
      requests.map((bytes, i) =>
        this.send(bytes).then((a) => {
          onAnswer?.(i, a);
          return a;
        }),
      ),
    );
  }

  close(): void {
    this.closed = true;
    for (const c of this.all) c.socket.destroy();
  }

  private enqueue(pending: Pending): void {
    const connection = this.idle.pop();
    if (connection) this.write(connection, pending);
    else this.queue.push(pending);
  }

  private next(): Pending | undefined {
    if (this.head === this.queue.length) return undefined;
    const pending = this.queue[this.head]!;
    this.queue[this.head++] = undefined as unknown as Pending;
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    return pending;
  }

  private write(connection: Connection, pending: Pending): void {
    if (connection.socket.destroyed) {
      // Closed while idle (its close handler has run): the request waits for a live connection.
      this.queue.splice(this.head, 0, pending);
      return;
    }
    connection.current = pending;
    connection.sentAt = performance.now();
    connection.socket.write(pending.bytes);
  }

  private free(connection: Connection): void {
    const pending = this.next();
    if (pending) this.write(connection, pending);
    else this.idle.push(connection);
  }

  private open(): void {
    const socket = connect(this.port, '127.0.0.1');
    socket.setNoDelay(true);
    const connection: Connection = { socket, current: undefined, sentAt: 0, buffer: Buffer.alloc(0) };
    this.all.add(connection);
    socket.once('connect', () => this.free(connection));
    socket.on('data', (chunk: Buffer) => this.read(connection, chunk));
    socket.on('error', () => undefined);
    socket.once('close', () => {
      this.all.delete(connection);
      const idleAt = this.idle.indexOf(connection);
      if (idleAt >= 0) this.idle.splice(idleAt, 1);
      if (this.closed) return;
      // A request whose connection broke goes first again, on a new connection.
      if (connection.current) {
        this.resent++;
        this.queue.splice(this.head, 0, connection.current);
      }
      setTimeout(() => this.open(), 50).unref();
    });
  }

  private read(connection: Connection, chunk: Buffer): void {
    connection.buffer = connection.buffer.length ? Buffer.concat([connection.buffer, chunk]) : chunk;
    for (;;) {
      const buffer = connection.buffer;
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buffer.subarray(0, end).toString('latin1');
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (buffer.length < end + 4 + length) return;
      const retry = /\r\nretry-after: *(\d+)/i.exec(head)?.[1];
      const pending = connection.current;
      const answer: Answer = {
        status: Number(head.slice(9, 12)),
        body: buffer.subarray(end + 4, end + 4 + length).toString('utf8'),
        retryAfter: retry === undefined ? undefined : Number(retry),
        sentAt: connection.sentAt,
        answeredAt: performance.now(),
        queuedAt: pending?.queuedAt ?? connection.sentAt,
      };
      connection.buffer = buffer.subarray(end + 4 + length);
      // An answer to no request (the server's 408 to a connection idle since it opened, before it
      // closes it): the connection is already idle; freeing it again would leave a dead one in the
      // idle list once it closes, and a request written to it would never be answered.
      if (!pending) continue;
      connection.current = undefined;
      pending.done(answer);
      this.free(connection);
    }
  }
}

/** A request as bytes: `token` as Bearer, `headers` extra, a JSON `body` when given (else no body). */
export function request(
  method: 'GET' | 'POST' | 'DELETE' | 'PATCH',
  path: string,
  { token, headers = {}, body }: { token?: string; headers?: Record<string, string>; body?: string } = {},
): Buffer {
  let head = `${method} ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\n`;
  if (token) head += `authorization: Bearer ${token}\r\n`;
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  if (body !== undefined) head += `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n`;
  else if (method !== 'GET') head += 'content-length: 0\r\n';
  return Buffer.from(`${head}\r\n${body ?? ''}`);
}
