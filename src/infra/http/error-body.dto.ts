import type { ErrorDetail } from '../errors/domain-error.js';
import type { ErrorBody } from './all-exceptions.filter.js';

export class ErrorDetailDto implements ErrorDetail {
  /** The field (or header) that is wrong. */
  field!: string;
  /** What is wrong with it. */
  problem!: string;
}

/** Every refusal and error: a stable `code` to switch on, never a stack trace. */
export class ErrorBodyDto implements ErrorBody {
  /** The HTTP status, repeated. */
  statusCode!: number;
  /** Stable error code (see the list per operation). */
  code!: string;
  /** A message for people; may change. */
  message!: string;
  /** One entry per invalid field (VALIDATION_FAILED only). */
  details?: ErrorDetailDto[];
  /** OUTCOME_UNKNOWN only: the order the purchase may have become; look it up at /orders/{orderId}. */
  orderId?: string;
}
