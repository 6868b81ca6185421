import { HttpStatus } from '@nestjs/common';

/**
 * Stable error codes of the public API, with the HTTP status each maps to.
 * Clients switch on `code`; never change the meaning of an existing one.
 */
export const ERROR_STATUS = {
  VALIDATION_FAILED: HttpStatus.BAD_REQUEST,
  MALFORMED_BODY: HttpStatus.BAD_REQUEST,
  UNAUTHORIZED: HttpStatus.UNAUTHORIZED,
  FORBIDDEN: HttpStatus.FORBIDDEN,
  NOT_FOUND: HttpStatus.NOT_FOUND,
  METHOD_NOT_ALLOWED: HttpStatus.METHOD_NOT_ALLOWED,
  CONFLICT: HttpStatus.CONFLICT,
  PAYLOAD_TOO_LARGE: HttpStatus.PAYLOAD_TOO_LARGE,
  UNSUPPORTED_MEDIA_TYPE: HttpStatus.UNSUPPORTED_MEDIA_TYPE,
  RATE_LIMITED: HttpStatus.TOO_MANY_REQUESTS,
  // the router's own refusals (hardening)
  MALFORMED_URL: HttpStatus.BAD_REQUEST,
  URI_TOO_LONG: HttpStatus.URI_TOO_LONG,
  // the door: answered on the socket, before routing (hardening)
  REQUEST_TIMEOUT: HttpStatus.REQUEST_TIMEOUT,
  MALFORMED_REQUEST: HttpStatus.BAD_REQUEST,
  TOO_MANY_CONNECTIONS: HttpStatus.SERVICE_UNAVAILABLE,
  // order status streams (hardening)
  TOO_MANY_STREAMS: HttpStatus.TOO_MANY_REQUESTS,
  STREAMS_BUSY: HttpStatus.SERVICE_UNAVAILABLE,
  // accounts
  EMAIL_TAKEN: HttpStatus.CONFLICT,
  INVALID_CREDENTIALS: HttpStatus.UNAUTHORIZED,
  // sale management
  SALE_NOT_FOUND: HttpStatus.NOT_FOUND,
  SALE_ENDED: HttpStatus.CONFLICT,
  SALE_ALREADY_STARTED: HttpStatus.CONFLICT,
  SALE_HAS_ORDERS: HttpStatus.CONFLICT,
  STOCK_BELOW_SOLD: HttpStatus.CONFLICT,
  // buying
  SOLD_OUT: HttpStatus.CONFLICT,
  LIMIT_EXCEEDED: HttpStatus.CONFLICT,
  SALE_NOT_ACTIVE: HttpStatus.CONFLICT,
  BUSY: HttpStatus.SERVICE_UNAVAILABLE,
  /** A store (Redis, Postgres) is out of reach: nothing was done; try again shortly. */
  UNAVAILABLE: HttpStatus.SERVICE_UNAVAILABLE,
  /** The admission was sent to Redis and its answer lost: the order named in the answer may exist; look it up. */
  OUTCOME_UNKNOWN: HttpStatus.SERVICE_UNAVAILABLE,
  GATE_NOT_READY: HttpStatus.SERVICE_UNAVAILABLE,
  /** Shed at the door of an overloaded API copy (overload control): nothing was done; Retry-After says when. */
  OVERLOADED: HttpStatus.SERVICE_UNAVAILABLE,
  ORDER_NOT_FOUND: HttpStatus.NOT_FOUND,
  /** Admitted (202), then lost with Redis's data before it was persisted: never charged, never shipped; buy again. */
  ORDER_LOST: HttpStatus.GONE,
  // the waiting room
  /** The sale has a waiting room: a purchase needs its admission (header Admission-Token). */
  ADMISSION_REQUIRED: HttpStatus.FORBIDDEN,
  /** The admission is forged, altered, expired, another shopper's or another sale's, or older than the gate. */
  ADMISSION_INVALID: HttpStatus.FORBIDDEN,
  /** The admission already bought once. */
  ADMISSION_USED: HttpStatus.CONFLICT,
  NO_WAITING_ROOM: HttpStatus.CONFLICT,
  /** The sale ended or sold out: the queue takes nobody new. */
  QUEUE_CLOSED: HttpStatus.CONFLICT,
  /** Joining opens at the room's prequeueOpensAt. */
  QUEUE_NOT_OPEN: HttpStatus.CONFLICT,
  /** The queue is at its maxQueue; try again after Retry-After. */
  QUEUE_FULL: HttpStatus.SERVICE_UNAVAILABLE,
  // order lifecycle
  ORDER_NOT_PAYABLE: HttpStatus.CONFLICT,
  ORDER_NOT_CANCELLABLE: HttpStatus.CONFLICT,
  PAYMENT_DECLINED: HttpStatus.PAYMENT_REQUIRED,
  PAYMENT_UNAVAILABLE: HttpStatus.BAD_GATEWAY,
  // notifications
  NOTIFICATION_NOT_FOUND: HttpStatus.NOT_FOUND,
  NOTIFICATION_NOT_RETRYABLE: HttpStatus.CONFLICT,
  // anti-bot screen at the waiting room's door (src/bots)
  /** The sale's room asks for proof of work: get GET /sales/:id/queue/challenge, solve it, send header Join-Proof. */
  CHALLENGE_REQUIRED: HttpStatus.FORBIDDEN,
  /** The Join-Proof header is not `<challenge>:<number>`. */
  CHALLENGE_MALFORMED: HttpStatus.BAD_REQUEST,
  /** The challenge is forged or altered, another shopper's or another sale's, or the number does not solve it. */
  CHALLENGE_INVALID: HttpStatus.FORBIDDEN,
  /** The challenge is past its expiry: get a new one. */
  CHALLENGE_EXPIRED: HttpStatus.FORBIDDEN,
  /** The challenge was already used for a join: get a new one. */
  CHALLENGE_USED: HttpStatus.CONFLICT,
  /** The challenge is easier than this join now needs (another address or device): get a new one. */
  CHALLENGE_STALE: HttpStatus.CONFLICT,
  /** The sale's anti-bot rules refuse this identity (too many accounts from its address, network or device, …). */
  JOIN_REFUSED: HttpStatus.FORBIDDEN,
  UNHEALTHY: HttpStatus.SERVICE_UNAVAILABLE,
  INTERNAL_ERROR: HttpStatus.INTERNAL_SERVER_ERROR,
} as const satisfies Record<string, HttpStatus>;

export type ErrorCode = keyof typeof ERROR_STATUS;
