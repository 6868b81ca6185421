/**
 * An open-loop HTTP/1.1 load generator: requests leave on a fixed schedule
 * (a rate that may change over time), whatever the server answers — as a
 * crowd does — each on an idle keep-alive connection or, when none is idle, a
 * new one (up to `maxConnections`; beyond, the request is counted not sent).
 * A request's latency runs from when it was due, so a server that falls
 * behind is charged for the wait (no coordinated omission). Requests are
 * prebuilt bytes; answers must carry a Content-Length.
 */
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface Answer {
  kind: string;
  status: number;
  /** The body's `code` of a 4xx or 5xx (OVERLOADED, BUSY, ADMISSION_USED, …), else ''. */
  code: string;
  /** From when the request was due to its whole answer (ms). */
  ms: number;
  /** When the answer arrived (ms, performance.now()). */
  at: number;
  /** The request's tag (e.g. which shopper sent it), if it had one. */
  tag?: number;
  /** The answer's body, for requests sent with `withBody`. */
  body?: string;
}

/** A request to send: its kind (for the tally), its bytes, and optionally a tag and whether its body is wanted. */
export interface Outgoing {
  kind: string;
  bytes: Buffer;
  tag?: number;
  withBody?: boolean;
}

interface Conn {
  socket: Socket;
  openedAt: number;
  answered: boolean;
  pending?: { kind: string; due: number; tag?: number; withBody?: boolean };
  buffer: Buffer;
}

const CODE = /"code":"([A-Z_]+)"/;

export class OpenLoop {
  /** Connections whose first answer came more than a second after they were opened. */
  lateConnections = 0;
  opened = 0;
  notSent = 0;
  errors = 0;
  private readonly idle: Conn[] = [];
  private readonly all = new Set<Conn>();
  private timer?: NodeJS.Timeout;
  private warming = false;

  constructor(
    private readonly port: number,
    private readonly onAnswer: (answer: Answer) => void,
    private readonly maxConnections = 2000,
  ) {}

  /**
   * Sends `next()` requests at `rate(t)` per second (t: seconds since start)
   * for `seconds`, then resolves (answers still on the way keep arriving).
   */
  run(seconds: number, rate: (t: number) => number, next: () => Outgoing): Promise<void> {
    const start = performance.now();
    let due = 0; // requests due so far (fractional)
    let sent = 0;
    let last = start;
    return new Promise((resolve) => {
      this.timer = setInterval(() => {
        const now = performance.now();
        const t = (now - start) / 1000;
        if (t >= seconds) {
          clearInterval(this.timer);
          resolve();
          return;
        }
        due += (rate(t) * (now - last)) / 1000;
        last = now;
        // Each request of this tick is charged from when it was due (spread over the tick).
        const n = Math.floor(due) - sent;
        for (let i = 0; i < n; i++) {
          this.send(next(), now - ((n - 1 - i) / Math.max(1, n)) * 1);
        }
        sent += n;
      }, 1);
    });
  }

  /**
   * Opens `n` connections before a run and sends `bytes` on each, waiting for
   * their answers (not reported): a crowd's connections are open before the
   * sale, and a run that starts by opening them all measures the accept queue.
   */
  async warm(n: number, bytes: Buffer, timeoutMs = 15_000): Promise<void> {
    this.warming = true;
    for (let i = 0; i < n; i++) this.send({ kind: 'warm', bytes }, performance.now());
    const deadline = Date.now() + timeoutMs;
    while (this.outstanding > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    this.warming = false;
  }

  /** Outstanding requests. */
  get outstanding(): number {
    let n = 0;
    for (const c of this.all) if (c.pending) n++;
    return n;
  }

  /** Stops; requests still unanswered are reported with status 0 and code UNANSWERED. */
  close(): void {
    clearInterval(this.timer);
    const now = performance.now();
    for (const c of this.all) {
      if (c.pending && !this.warming) {
        this.onAnswer({
          kind: c.pending.kind,
          status: 0,
          code: 'UNANSWERED',
          ms: now - c.pending.due,
          at: now,
          tag: c.pending.tag,
        });
      }
      c.pending = undefined;
      c.socket.destroy();
    }
    this.all.clear();
    this.idle.length = 0;
  }

  /** Sends one request now, outside the schedule (e.g. a purchase its answer called for). */
  sendNow(request: Outgoing): void {
    this.send(request, performance.now());
  }

  private send({ kind, bytes, tag, withBody }: Outgoing, due: number): void {
    let conn = this.idle.pop();
    if (!conn) {
      if (this.all.size >= this.maxConnections) {
        this.notSent++;
        return;
      }
      conn = this.open();
    }
    conn.pending = { kind, due, tag, withBody };
    conn.socket.write(bytes);
  }

  private open(): Conn {
    const socket = connect(this.port, '127.0.0.1');
    socket.setNoDelay(true);
    const conn: Conn = { socket, openedAt: performance.now(), answered: false, buffer: Buffer.alloc(0) };
    this.opened++;
    this.all.add(conn);
    socket.on('data', (chunk: Buffer) => this.read(conn, chunk));
    const gone = (): void => {
      if (!this.all.delete(conn)) return;
      const i = this.idle.indexOf(conn);
      if (i >= 0) this.idle.splice(i, 1);
      if (conn.pending) {
        this.errors++;
        const now = performance.now();
        this.onAnswer({
          kind: conn.pending.kind,
          status: 0,
          code: 'ERROR',
          ms: now - conn.pending.due,
          at: now,
          tag: conn.pending.tag,
        });
      }
    };
    socket.on('error', gone);
    socket.on('close', gone);
    return conn;
  }

  private read(conn: Conn, chunk: Buffer): void {
    conn.buffer = conn.buffer.length ? Buffer.concat([conn.buffer, chunk]) : chunk;
    for (;;) {
      const end = conn.buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = conn.buffer.subarray(0, end).toString('latin1');
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (conn.buffer.length < end + 4 + length) return;
      const status = Number(head.slice(9, 12));
      const pending = conn.pending;
      const body = pending?.withBody || status >= 400 ? conn.buffer.subarray(end + 4, end + 4 + length).toString() : '';
      const code = status >= 400 ? (CODE.exec(body)?.[1] ?? '') : '';
      conn.buffer = conn.buffer.subarray(end + 4 + length);
      const now = performance.now();
      if (!conn.answered) {
        conn.answered = true;
        if (now - conn.openedAt > 1000 && !this.warming) this.lateConnections++;
      }
      conn.pending = undefined;
      if (pending && !this.warming) {
        const { kind, tag, withBody } = pending;
        this.onAnswer({ kind, status, code, ms: now - pending.due, at: now, tag, body: withBody ? body : undefined });
      }
      this.idle.push(conn);
    }
  }
}

/** A GET with a bearer token, as bytes. */
export function getRequest(path: string, token: string): Buffer {
  return Buffer.from(`GET ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${token}\r\n\r\n`);
}
