import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyError, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import type { AppConfig } from '../config/app-config.js';
import { ERROR_STATUS, type ErrorCode } from '../errors/error-codes.js';
import type { ErrorBody } from './all-exceptions.filter.js';
import { capConnections, doorOptions, lingerAfterAnswer, overCap, rawAnswer } from './door.js';
import { HSTS, SECURITY_HEADERS } from './security-headers.js';
import { parseTrustProxy } from './trust-proxy.js';

/** A client's x-request-id is kept only when it is short and made of these; otherwise the API makes one. */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** The request id: the client's x-request-id when short and safe, else a fresh UUID. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && SAFE_REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * Written to the Node response (not Fastify's reply) so that answers written
 * straight to the socket (server-sent events) carry them as well.
 */
function stampHeaders(request: FastifyRequest, reply: FastifyReply): void {
  const raw = reply.raw;
  for (const [name, value] of SECURITY_HEADERS) raw.setHeader(name, value);
  raw.setHeader('x-request-id', request.id);
  if (request.protocol === 'https') raw.setHeader('strict-transport-security', HSTS);
}

function houseError(code: ErrorCode, message: string): ErrorBody {
  return { statusCode: ERROR_STATUS[code], code, message };
}

/**
 * The router's own refusals, answered before any hook or Nest filter runs:
 * in the house format, with the request id and the security headers, and
 * without echoing the URL.
 */
function frameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  stampHeaders(request, reply);
  const body =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? houseError('URI_TOO_LONG', 'A segment of the path is longer than allowed')
      : error.code === 'FST_ERR_BAD_URL'
        ? houseError('MALFORMED_URL', 'The URL could not be decoded')
        : houseError('INTERNAL_ERROR', 'Internal error');
  void reply.code(body.statusCode).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(body));
}

/** Fastify options of the API: trusted proxies, request ids, router errors, the door's timeouts. */
export function hardenedFastifyOptions(config: AppConfig) {
  return {
    trustProxy: parseTrustProxy(config.TRUST_PROXY) ?? false,
    requestIdHeader: false,
    genReqId: requestIdOf,
    frameworkErrors: frameworkError,
    ...doorOptions(config),
  } satisfies FastifyServerOptions;
}

/**
 * A body that may get its answer (413) before it is read: one declared over
 * the limit, or one of unknown length. Its connection closes with a lingering
 * close (see lingerAfterAnswer).
 */
function mayBeRefusedUnread(request: FastifyRequest, limit: number): boolean {
  const length = request.headers['content-length'];
  return length === undefined ? request.headers['transfer-encoding'] !== undefined : Number(length) > limit;
}

/** CORS_ORIGINS as a list (empty: CORS stays off and browsers keep other origins out). */
export function corsOrigins(value: string): string[] {
  return value
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
}

const CORS_METHODS = 'GET, POST, PATCH, DELETE';
const CORS_ALLOWED_HEADERS =
  'authorization, content-type, idempotency-key, x-request-id, last-event-id, join-proof, device-id, admission-token, queue-token';
const CORS_EXPOSED_HEADERS = 'x-request-id, retry-after';
const CORS_MAX_AGE_SECONDS = '600';

/**
 * CORS for an allow-list of exact origins, as a few header writes (the
 * measured cost of @fastify/cors through app.enableCors() was several times
 * higher on every request carrying an Origin). No credentials: the API takes
 * bearer tokens, not cookies. A preflight from an allowed origin is answered
 * 204 here, before routing; one from another origin gets no CORS headers
 * (and the browser refuses).
 */
function cors(request: FastifyRequest, reply: FastifyReply, origins: ReadonlySet<string>): boolean {
  const raw = reply.raw;
  raw.setHeader('vary', 'Origin');
  const origin = request.headers.origin;
  if (origin === undefined || !origins.has(origin)) return false;
  raw.setHeader('access-control-allow-origin', origin);
  raw.setHeader('access-control-expose-headers', CORS_EXPOSED_HEADERS);
  if (request.method !== 'OPTIONS' || request.headers['access-control-request-method'] === undefined) return false;
  raw.setHeader('access-control-allow-methods', CORS_METHODS);
  raw.setHeader('access-control-allow-headers', CORS_ALLOWED_HEADERS);
  raw.setHeader('access-control-max-age', CORS_MAX_AGE_SECONDS);
  void reply.code(204).send();
  return true;
}

/**
 * What the API adds on every request, in one synchronous hook: security
 * headers and the request id, and CORS for the configured origins only. Also
 * JSON as the only body type: text/plain and forms are 415 (Nest's own
 * parsers are off, see createHttpApp).
 */
export function hardenHttp(app: NestFastifyApplication, config: AppConfig): void {
  const fastify = app.getHttpAdapter().getInstance();
  const origins = new Set(corsOrigins(config.CORS_ORIGINS));
  capConnections(fastify.server, config.MAX_CONNECTIONS);
  const tooManyConnections = rawAnswer('TOO_MANY_CONNECTIONS', 'Too many open connections; try again shortly', {
    'retry-after': String(config.RETRY_AFTER_SECONDS),
  });
  fastify.addHook('onRequest', (request, reply, done) => {
    if (overCap(request.raw)) {
      // Answered on the socket and closed: nothing of this request runs.
      reply.hijack();
      request.raw.socket.end(tooManyConnections);
      return;
    }
    stampHeaders(request, reply);
    if (mayBeRefusedUnread(request, config.BODY_LIMIT_BYTES)) lingerAfterAnswer(request.raw, config.LINGER_BYTES);
    if (origins.size > 0 && cors(request, reply, origins)) return; // a preflight, answered
    done();
  });
  fastify.removeContentTypeParser('text/plain');
}
