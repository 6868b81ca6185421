import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyServerOptions } from 'fastify';
import type { HttpConfig } from '../config/app-config.js';
import { ERROR_STATUS, type ErrorCode } from '../errors/error-codes.js';
import { SECURITY_HEADERS } from './security-headers.js';

/*
 * The door of an API copy: what a connection may cost before it has sent a
 * whole request. Node's HTTP server does the timing (headersTimeout,
 * requestTimeout, keepAliveTimeout, checked every CHECK_INTERVAL_MS); this
 * file sets it from the config, answers its refusals in the house format and
 * caps the open connections.
 */

/** How often Node looks for requests past their time (its default, 30 s, would let a 10 s limit run to 40 s). */
const CHECK_INTERVAL_MS = 1000;
/** Longest a lingering close waits for the rest of a refused body. */
const LINGER_MS = 5000;

type DoorConfig = Pick<
  HttpConfig,
  | 'REQUEST_TIMEOUT_SECONDS'
  | 'HEADERS_TIMEOUT_SECONDS'
  | 'KEEP_ALIVE_TIMEOUT_SECONDS'
  | 'MAX_CONNECTIONS'
  | 'LINGER_BYTES'
  | 'RETRY_AFTER_SECONDS'
>;

/** A whole HTTP/1.1 answer written straight to the socket (no request was routed), closing the connection. */
export function rawAnswer(code: ErrorCode, message: string, extra: Record<string, string> = {}): string {
  const status = ERROR_STATUS[code];
  const body = JSON.stringify({ statusCode: status, code, message });
  const headers = [
    ['content-type', 'application/json; charset=utf-8'],
    ['content-length', String(Buffer.byteLength(body))],
    ['connection', 'close'],
    ...SECURITY_HEADERS,
    ...Object.entries(extra),
  ];
  return `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\n${headers.map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n${body}`;
}

const OVER_CAP = Symbol('over the connection cap');
const REFUSED = Symbol('refused by the door');
type Marked = Socket & { [OVER_CAP]?: true; [REFUSED]?: true };

/** True when the door already refused the request's connection (408 or 400 written, closing). */
export function refusedConnection(req: IncomingMessage): boolean {
  return (req.socket as Marked)[REFUSED] === true;
}

const REASONS: Partial<Record<number, string>> = { 400: 'Bad Request', 408: 'Request Timeout' };

const TIMEOUT_ANSWER = rawAnswer('REQUEST_TIMEOUT', 'The request did not arrive in time; the connection is closed');
const MALFORMED_ANSWER = rawAnswer('MALFORMED_REQUEST', 'The request could not be parsed; the connection is closed');

/**
 * Node's refusals of a connection that never delivered a whole request (too
 * slow, malformed, headers too large), in the house format. The client has
 * nothing more to say that will be read: the answer is written and the
 * connection ended.
 */
function clientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  // Node still parses what arrives after this (a request racing the headers timeout of an idle
  // connection): the request listener drops it unanswered, the client has its refusal.
  (socket as Marked)[REFUSED] = true;
  if (socket.writable) socket.end(err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? TIMEOUT_ANSWER : MALFORMED_ANSWER);
  // A client that keeps writing is not read any more; the socket goes when the answer is out, or at once.
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
}

/** Fastify (and Node) server options of the door. */
export function doorOptions(config: DoorConfig): Pick<
  FastifyServerOptions,
  'requestTimeout' | 'keepAliveTimeout' | 'connectionTimeout' | 'clientErrorHandler'
> & {
  http: { headersTimeout: number; requestTimeout: number; connectionsCheckingInterval: number };
} {
  const requestTimeout = config.REQUEST_TIMEOUT_SECONDS * 1000;
  return {
    requestTimeout,
    keepAliveTimeout: config.KEEP_ALIVE_TIMEOUT_SECONDS * 1000,
    // No idle timeout on a socket once its request is in: status streams (SSE) stay open by design.
    connectionTimeout: 0,
    clientErrorHandler: clientError,
    http: {
      headersTimeout: config.HEADERS_TIMEOUT_SECONDS * 1000,
      requestTimeout,
      connectionsCheckingInterval: CHECK_INTERVAL_MS,
    },
  };
}

/**
 * Counts the open connections of the server; one that opens beyond `max` is
 * marked, and its first request is refused (503 TOO_MANY_CONNECTIONS, see
 * overCap) and the connection closed. A connection that never sends a
 * request is closed by the headers timeout. One counter and one listener per
 * connection; nothing per request beyond a property read.
 */
export function capConnections(server: Server, max: number): { open: () => number } {
  let open = 0;
  server.on('connection', (socket: Marked) => {
    open++;
    if (open > max) socket[OVER_CAP] = true;
    socket.once('close', () => open--);
  });
  return { open: () => open };
}

/** True when the request came on a connection opened beyond the cap. */
export function overCap(req: IncomingMessage): boolean {
  return (req.socket as Marked)[OVER_CAP] === true;
}

type Lingering = Socket & { destroySoon(): void };

/**
 * A lingering close, as nginx does: when an answer is sent before the body
 * was read (413 on a declared or streamed body over the limit), Node would
 * close the socket at once, and the client, still writing, sees a reset
 * instead of the answer (Node's fetch and browsers do). Instead the answer is
 * followed by a FIN, and the rest of the body is read and dropped, up to
 * `bytes` and LINGER_MS, before the socket is closed.
 */
export function lingerAfterAnswer(req: IncomingMessage, bytes: number): void {
  const socket = req.socket as Lingering;
  if (bytes <= 0 || socket.destroyed) return;
  // Node calls destroySoon() once an answer with `Connection: close` is written.
  socket.destroySoon = function lingeringClose(this: Lingering): void {
    if (this.writable) this.end();
    let left = bytes;
    const close = (): void => {
      clearTimeout(timer);
      this.destroy();
    };
    const timer = setTimeout(close, LINGER_MS);
    timer.unref();
    this.once('close', () => clearTimeout(timer));
    req.on('data', (chunk: Buffer) => {
      left -= chunk.length;
      if (left <= 0) close();
    });
    req.on('end', close);
    req.on('error', close);
    req.resume();
  };
}
