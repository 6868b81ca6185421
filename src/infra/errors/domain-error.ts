import { ERROR_STATUS, type ErrorCode } from './error-codes.js';

export interface ErrorDetail {
  field: string;
  problem: string;
}

/** A refusal the client should understand: a stable code, a message, maybe details. */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetail[],
    /** Extra response headers, e.g. Retry-After. */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'DomainError';
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}
