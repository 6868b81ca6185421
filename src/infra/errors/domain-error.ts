import { ERROR_STATUS, type ErrorCode } from './error-codes.js';

export interface ErrorDetail {
  field: string;
  problem: string;
}

/**
 * A refusal the client should understand: a stable code, a message, maybe
 * details. An expected answer, not a fault: it carries no stack trace (a crowd
 * refused SOLD_OUT makes thousands a second, and capturing a stack costs more
 * than the rest of the refusal).
 */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetail[],
    /** Extra response headers, e.g. Retry-After. */
    readonly headers?: Record<string, string>,
    /** Extra fields of the body, e.g. the order id an OUTCOME_UNKNOWN answer names. */
    readonly fields?: Record<string, string>,
  ) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
    this.name = 'DomainError';
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}
