import { ArgumentsHost, Catch, HttpException, HttpStatus, Logger, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, type ErrorDetail } from '../errors/domain-error.js';
import type { ErrorCode } from '../errors/error-codes.js';
import { isStoreUnavailable } from '../errors/unavailable.js';

const CODE_BY_STATUS: Partial<Record<number, ErrorCode>> = {
  [HttpStatus.BAD_REQUEST]: 'VALIDATION_FAILED',
  [HttpStatus.UNAUTHORIZED]: 'UNAUTHORIZED',
  [HttpStatus.FORBIDDEN]: 'FORBIDDEN',
  [HttpStatus.NOT_FOUND]: 'NOT_FOUND',
  [HttpStatus.METHOD_NOT_ALLOWED]: 'METHOD_NOT_ALLOWED',
  [HttpStatus.CONFLICT]: 'CONFLICT',
  [HttpStatus.PAYLOAD_TOO_LARGE]: 'PAYLOAD_TOO_LARGE',
  [HttpStatus.UNSUPPORTED_MEDIA_TYPE]: 'UNSUPPORTED_MEDIA_TYPE',
  [HttpStatus.TOO_MANY_REQUESTS]: 'RATE_LIMITED',
  [HttpStatus.SERVICE_UNAVAILABLE]: 'UNHEALTHY',
};

export interface ErrorBody {
  statusCode: number;
  code: string;
  message: string;
  details?: ErrorDetail[];
  /** OUTCOME_UNKNOWN: the order the purchase may have become. */
  orderId?: string;
}

interface Answer {
  body: ErrorBody;
  headers?: Record<string, string>;
}

/** Fastify's own errors (body parsing and the like) carry a 4xx statusCode and an FST_ code. */
function isFastifyClientError(err: unknown): err is Error & { statusCode: number; code: string } {
  const e = err as { statusCode?: unknown; code?: unknown };
  return (
    err instanceof Error &&
    typeof e.statusCode === 'number' &&
    e.statusCode >= 400 &&
    e.statusCode < 500 &&
    typeof e.code === 'string'
  );
}

/** Turns anything thrown into the public error shape; internals never leave the process. */
export function toErrorAnswer(err: unknown): Answer {
  if (err instanceof DomainError) {
    const body: ErrorBody = { ...err.fields, statusCode: err.status, code: err.code, message: err.message };
    if (err.details) body.details = err.details;
    return { body, headers: err.headers };
  }
  if (err instanceof HttpException && isFastifyClientError(err.cause)) return toErrorAnswer(err.cause);
  if (err instanceof HttpException) {
    const status = err.getStatus();
    const code = CODE_BY_STATUS[status] ?? (status < 500 ? 'CONFLICT' : 'INTERNAL_ERROR');
    const message = status < 500 ? err.message : 'Internal error';
    return { body: { statusCode: status, code, message } };
  }
  if (isFastifyClientError(err)) {
    const status = err.statusCode;
    const code: ErrorCode =
      status === 400 && /^FST_ERR_CTP_(INVALID|EMPTY)_JSON/.test(err.code)
        ? 'MALFORMED_BODY'
        : (CODE_BY_STATUS[status] ?? 'VALIDATION_FAILED');
    // Fixed wording where Fastify's message would echo the request (its content type).
    const message =
      code === 'MALFORMED_BODY'
        ? 'Request body could not be parsed'
        : code === 'UNSUPPORTED_MEDIA_TYPE'
          ? 'Send the body as JSON (Content-Type: application/json)'
          : err.message;
    return { body: { statusCode: status, code, message } };
  }
  if (isStoreUnavailable(err)) {
    return {
      body: { statusCode: 503, code: 'UNAVAILABLE', message: 'The service is briefly unavailable; try again shortly' },
      headers: { 'retry-after': '2' },
    };
  }
  return { body: { statusCode: 500, code: 'INTERNAL_ERROR', message: 'Internal error' } };
}

@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const request = http.getRequest<FastifyRequest>();
    const { body, headers } = toErrorAnswer(exception);
    if (body.statusCode === 500) {
      this.logger.error(
        `${request.method} ${request.url} failed [req ${request.id}]`,
        exception instanceof Error ? exception.stack : String(exception),
      );
    }
    void reply
      .status(body.statusCode)
      .headers(headers ?? {})
      .send(body);
  }
}
