import type { Type } from '@nestjs/common';
import type { ErrorCode } from '../../infra/errors/error-codes.js';
import {
  AdminSessionDto,
  AdmittedDto,
  HealthDto,
  LivenessDto,
  LoginAnswerDto,
  NotificationPageDto,
  NotificationViewDto,
  OrderPageDto,
  OrderViewDto,
  PublicUserDto,
  QueueViewDto,
  ReconcileReportDto,
  RoomReportDto,
  SalePageDto,
  SaleStatsDto,
  SaleViewDto,
  StorefrontListDto,
  StorefrontSaleDetailDto,
  ChallengeViewDto,
} from './views.dto.js';

/** What the path parameter `{id}` names: decides its format in the document. */
export type IdKind = 'sale' | 'order' | 'notification';

export interface RouteDoc {
  /** The success answer: status, body type (none for 204), media type when not JSON. */
  ok: { status: number; type?: Type; media?: 'text/event-stream' | 'text/plain' | 'text/html'; example?: unknown };
  /** Errors of this route beyond those its auth, body and query bring (see openapi.ts). */
  errors?: ErrorCode[];
  id?: IdKind;
  /** The route reads an `Idempotency-Key` header. */
  idempotencyKey?: string;
  /** Other request headers the route reads. */
  headers?: { name: string; description: string }[];
  requestExample?: unknown;
  /** A route served by Fastify outside Nest: no controller, so everything about it is said here. */
  fastify?: { summary: string; description: string; tag: string; auth: 'admin-page' | 'metrics-token' };
}

const SALE_ID = '0f4c2a9e-5b8d-4e21-9a7c-3d6b1e8f2a40';
const ORDER_ID = '01JD3Z6W5Q8K4N2M7P9R1T3V5X';
const USER_ID = '7d2e4f60-1a3b-4c5d-8e9f-0a1b2c3d4e5f';
const AT = '2026-11-21T12:00:00.000Z';
const LATER = '2026-11-21T13:00:00.000Z';

const NEW_SALE = {
  name: 'Phone X launch',
  sku: 'PHONE-X-128',
  price: 49900,
  stock: 1000,
  perUserLimit: 1,
  startsAt: AT,
  endsAt: LATER,
};
const SALE_EXAMPLE = {
  id: SALE_ID,
  ...NEW_SALE,
  endedAt: null,
  paused: false,
  paymentWindowSeconds: null,
  status: 'ACTIVE',
  remaining: 412,
  preheated: true,
  waitingRoom: null,
  createdAt: '2026-11-20T09:00:00.000Z',
  updatedAt: '2026-11-20T09:00:00.000Z',
};
const STOREFRONT_EXAMPLE = {
  id: SALE_ID,
  name: 'Phone X launch',
  price: 49900,
  stock: 1000,
  remaining: 412,
  perUserLimit: 1,
  startsAt: AT,
  endsAt: LATER,
  status: 'ACTIVE',
  paused: false,
};
const ORDER_EXAMPLE = {
  id: ORDER_ID,
  saleId: SALE_ID,
  userId: USER_ID,
  quantity: 1,
  amount: 49900,
  status: 'AWAITING_PAYMENT',
  failureReason: null,
  paymentDeadline: '2026-11-21T12:15:02.000Z',
  admittedAt: '2026-11-21T12:00:01.250Z',
  updatedAt: '2026-11-21T12:00:02.000Z',
};
const NOTIFICATION_EXAMPLE = {
  id: '01JD3Z7A1B2C3D4E5F6G7H8J9K',
  orderId: ORDER_ID,
  kind: 'order.confirmed',
  channel: 'EMAIL',
  recipient: 'ana@example.com',
  status: 'FAILED',
  attempts: 5,
  lastError: 'connect ECONNREFUSED 127.0.0.1:1025',
  eventId: '01JD3Z6X0000000000000000AA',
  sentAt: null,
  createdAt: AT,
  updatedAt: AT,
};
const SALE_CHANGE_ERRORS: ErrorCode[] = ['SALE_NOT_FOUND', 'SALE_ENDED'];

/**
 * The API's answers, route by route: the success body and the stable error
 * codes (their statuses come from ERROR_STATUS), with examples. Request
 * bodies and query parameters come from the DTOs themselves (the swagger
 * plugin); auth comes from each handler's @Public()/@Roles(). The OpenAPI
 * test fails when a route of the app is missing here or one here is gone.
 */
const ROOM_EXAMPLE = {
  admitPerSecond: 200,
  maxActive: 5000,
  claimSeconds: 60,
  prequeueOpensAt: null,
  maxQueue: null,
  paused: true,
};
const QUEUE_EXAMPLE = {
  state: 'waiting',
  position: 1840,
  estimatedWaitSeconds: { low: 7, high: 11 },
  refreshAfterSeconds: 2,
  queueLength: 52311,
  admitPerSecond: 201.4,
  startsAt: AT,
  admission: null,
  queueToken: 'eyJzdGF0ZSI6IndhaXRpbmciLCJwb3NpdGlvbiI6MTg0MH0.Xq3u9bQ0mLw2c1Zr7TtYhA',
};
const QUEUE_ADMITTED = {
  ...QUEUE_EXAMPLE,
  state: 'admitted',
  position: null,
  estimatedWaitSeconds: { low: 0, high: 0 },
  refreshAfterSeconds: 10,
  admission: { token: 'mhe2b3k0.mhe2c7s0.aQ3r9Zt1LwX0c8YpV2nB4g', expiresAt: LATER },
  queueToken: null,
};
const QUEUE_ROUTE_ERRORS: ErrorCode[] = ['SALE_NOT_FOUND', 'NO_WAITING_ROOM', 'UNAVAILABLE'];
const DEVICE_ID_HEADER = {
  name: 'Device-Id',
  description:
    'An id the storefront keeps per browser: the anti-bot caps count accounts per device (a hint: clients can lie).',
};

export const ROUTE_DOCS: Record<string, RouteDoc> = {
  'POST /sales/{id}/queue': {
    ok: { status: 200, type: QueueViewDto, example: QUEUE_EXAMPLE },
    errors: [
      ...QUEUE_ROUTE_ERRORS,
      'QUEUE_CLOSED',
      'QUEUE_NOT_OPEN',
      'QUEUE_FULL',
      'CHALLENGE_REQUIRED',
      'CHALLENGE_MALFORMED',
      'CHALLENGE_INVALID',
      'CHALLENGE_EXPIRED',
      'CHALLENGE_USED',
      'CHALLENGE_STALE',
      'JOIN_REFUSED',
    ],
    id: 'sale',
    headers: [
      {
        name: 'Join-Proof',
        description:
          'On a room with anti-bot rules: `<challenge>:<n>`, the challenge of GET /sales/{id}/queue/challenge and the number that solves it (one join per challenge).',
      },
      DEVICE_ID_HEADER,
    ],
  },
  'GET /sales/{id}/queue/challenge': {
    ok: {
      status: 200,
      type: ChallengeViewDto,
      example: {
        required: true,
        challenge:
          'mhe3k1r4.0.16jdc.kQ3v8Zt1LwX0c8Yp.9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08.Xq3u9bQ0mLw2c1Zr7TtYhA',
        algorithm: 'SHA-256',
        salt: 'kQ3v8Zt1LwX0c8Yp',
        hash: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
        maxNumber: 2000000,
        tier: 0,
        expiresAt: LATER,
      },
    },
    errors: ['SALE_NOT_FOUND', 'NO_WAITING_ROOM', 'RATE_LIMITED', 'UNAVAILABLE'],
    id: 'sale',
    headers: [DEVICE_ID_HEADER],
  },
  'GET /sales/{id}/queue': {
    ok: { status: 200, type: QueueViewDto, example: QUEUE_ADMITTED },
    errors: QUEUE_ROUTE_ERRORS,
    id: 'sale',
    headers: [
      {
        name: 'Queue-Token',
        description:
          'The queueToken of the last answer: a poll before its refreshAfterSeconds is answered from it, without touching the queue.',
      },
    ],
  },
  'DELETE /sales/{id}/queue': {
    ok: {
      status: 200,
      type: QueueViewDto,
      example: { ...QUEUE_EXAMPLE, state: 'left', position: null, queueToken: null },
    },
    errors: QUEUE_ROUTE_ERRORS,
    id: 'sale',
  },
  'GET /admin/sales/{id}/room': {
    ok: {
      status: 200,
      type: RoomReportDto,
      example: {
        saleId: SALE_ID,
        settings: {
          admitPerSecond: 200,
          maxActive: 5000,
          claimSeconds: 60,
          prequeueOpensAt: null,
          maxQueue: null,
          paused: false,
        },
        state: 'open',
        waiting: 52311,
        shadowed: 0,
        admitted: 812,
        buying: 3120,
        targetAdmitPerSecond: 200,
        measuredAdmitPerSecond: 199.2,
        estimatedWaitSeconds: 263,
        counters: { joined: 61210, admitted: 8899, used: 7611, lapsed: 402, left: 88, gone: 35, ended: 4491 },
        bots: {
          shadowed: { address: 188, device: 12 },
          refused: {},
          logged: { shadow: {}, refuse: {} },
          verification: { proofs: 61420, cpuMicros: 251822 },
        },
      },
    },
    errors: ['SALE_NOT_FOUND', 'NO_WAITING_ROOM'],
    id: 'sale',
  },
  'POST /admin/sales/{id}/room/pause': {
    ok: { status: 200, type: SaleViewDto, example: { ...SALE_EXAMPLE, waitingRoom: ROOM_EXAMPLE } },
    errors: ['SALE_NOT_FOUND', 'NO_WAITING_ROOM', 'SALE_ENDED'],
    id: 'sale',
  },
  'POST /admin/sales/{id}/room/resume': {
    ok: {
      status: 200,
      type: SaleViewDto,
      example: { ...SALE_EXAMPLE, waitingRoom: { ...ROOM_EXAMPLE, paused: false } },
    },
    errors: ['SALE_NOT_FOUND', 'NO_WAITING_ROOM', 'SALE_ENDED'],
    id: 'sale',
  },
  'POST /auth/register': {
    ok: {
      status: 201,
      type: PublicUserDto,
      example: {
        id: USER_ID,
        email: 'ana@example.com',
        phone: '+14155550123',
        name: 'Ana',
        role: 'CUSTOMER',
        createdAt: AT,
      },
    },
    errors: ['EMAIL_TAKEN', 'RATE_LIMITED', 'BUSY'],
    requestExample: { email: 'ana@example.com', phone: '+14155550123', password: 'correct horse battery', name: 'Ana' },
  },
  'POST /auth/login': {
    ok: {
      status: 200,
      type: LoginAnswerDto,
      example: { accessToken: 'eyJhbGciOi…', tokenType: 'Bearer', expiresIn: '12h' },
    },
    errors: ['INVALID_CREDENTIALS', 'RATE_LIMITED', 'BUSY'],
    requestExample: { email: 'ana@example.com', password: 'correct horse battery' },
  },
  'POST /admin/session': {
    ok: { status: 200, type: AdminSessionDto, example: { status: 'signed-in', expiresAt: LATER } },
  },
  'DELETE /admin/session': { ok: { status: 204 } },
  'GET /health': {
    ok: { status: 200, type: HealthDto, example: { status: 'ok', postgres: 'up', redis: 'up' } },
    errors: ['UNHEALTHY'],
  },
  'GET /health/live': { ok: { status: 200, type: LivenessDto, example: { status: 'ok' } } },
  'GET /health/ready': {
    ok: { status: 200, type: HealthDto, example: { status: 'ok', postgres: 'up', redis: 'up' } },
    errors: ['UNHEALTHY'],
  },
  'POST /admin/sales': {
    ok: {
      status: 201,
      type: SaleViewDto,
      example: { ...SALE_EXAMPLE, status: 'UPCOMING', remaining: 1000, preheated: false },
    },
    requestExample: NEW_SALE,
  },
  'GET /admin/sales': {
    ok: { status: 200, type: SalePageDto, example: { items: [SALE_EXAMPLE], page: 1, pageSize: 20, total: 1 } },
  },
  'GET /admin/sales/{id}': {
    ok: { status: 200, type: SaleViewDto, example: SALE_EXAMPLE },
    errors: ['SALE_NOT_FOUND'],
    id: 'sale',
  },
  'PATCH /admin/sales/{id}': {
    ok: { status: 200, type: SaleViewDto, example: { ...SALE_EXAMPLE, stock: 1200, remaining: 612 } },
    errors: ['SALE_NOT_FOUND', 'SALE_ENDED', 'SALE_ALREADY_STARTED', 'STOCK_BELOW_SOLD', 'CONFLICT'],
    id: 'sale',
    requestExample: { stock: 1200 },
  },
  'DELETE /admin/sales/{id}': { ok: { status: 204 }, errors: ['SALE_NOT_FOUND', 'SALE_HAS_ORDERS'], id: 'sale' },
  'POST /admin/sales/{id}/preheat': {
    ok: { status: 200, type: SaleViewDto, example: SALE_EXAMPLE },
    errors: ['SALE_NOT_FOUND'],
    id: 'sale',
  },
  'POST /admin/sales/{id}/pause': {
    ok: { status: 200, type: SaleViewDto, example: { ...SALE_EXAMPLE, paused: true } },
    errors: SALE_CHANGE_ERRORS,
    id: 'sale',
  },
  'POST /admin/sales/{id}/resume': {
    ok: { status: 200, type: SaleViewDto, example: SALE_EXAMPLE },
    errors: SALE_CHANGE_ERRORS,
    id: 'sale',
  },
  'POST /admin/sales/{id}/end': {
    ok: {
      status: 200,
      type: SaleViewDto,
      example: { ...SALE_EXAMPLE, status: 'ENDED', endedAt: '2026-11-21T12:30:00.000Z' },
    },
    errors: SALE_CHANGE_ERRORS,
    id: 'sale',
  },
  'POST /admin/sales/{id}/reconcile': {
    ok: {
      status: 200,
      type: ReconcileReportDto,
      example: {
        saleId: SALE_ID,
        stock: 1000,
        gate: { exists: true, remaining: 412 },
        expected: { remaining: 412 },
        drift: { remaining: 0, buyers: [] },
        inSync: true,
        repaired: false,
        heldWhileMoving: 0,
      },
    },
    errors: ['SALE_NOT_FOUND'],
    id: 'sale',
  },
  'GET /admin/sales/{id}/stats': {
    ok: {
      status: 200,
      type: SaleStatsDto,
      example: {
        saleId: SALE_ID,
        stock: 1000,
        remaining: 412,
        admitted: 588,
        refusals: { SOLD_OUT: 0, LIMIT_EXCEEDED: 31, SALE_NOT_ACTIVE: 120, BUSY: 0, RATE_LIMITED: 4 },
        ordersByStatus: { QUEUED: 12, PENDING: 6, AWAITING_PAYMENT: 420, PAID: 140, CANCELLED: 10, FAILED: 0 },
        backlog: { tickets: 12, queuedJobs: 12 },
        stockOfRecord: 424,
      },
    },
    errors: ['SALE_NOT_FOUND'],
    id: 'sale',
  },
  'GET /sales': {
    ok: {
      status: 200,
      type: StorefrontListDto,
      example: { items: [STOREFRONT_EXAMPLE], serverTime: '2026-11-21T12:05:00.000Z' },
    },
  },
  'GET /sales/{id}': {
    ok: {
      status: 200,
      type: StorefrontSaleDetailDto,
      example: { ...STOREFRONT_EXAMPLE, serverTime: '2026-11-21T12:05:00.000Z' },
    },
    errors: ['SALE_NOT_FOUND'],
    id: 'sale',
  },
  'POST /sales/{id}/orders': {
    ok: { status: 202, type: AdmittedDto, example: { orderId: ORDER_ID, status: 'QUEUED' } },
    errors: [
      'SOLD_OUT',
      'LIMIT_EXCEEDED',
      'SALE_NOT_ACTIVE',
      'RATE_LIMITED',
      'BUSY',
      'GATE_NOT_READY',
      'UNAVAILABLE',
      'OUTCOME_UNKNOWN',
      'SALE_NOT_FOUND',
      'ADMISSION_REQUIRED',
      'ADMISSION_INVALID',
      'ADMISSION_USED',
    ],
    id: 'sale',
    headers: [
      {
        name: 'Admission-Token',
        description:
          'On a sale with a waiting room: the admission from GET /sales/{id}/queue (state admitted). It buys once; without it 403 ADMISSION_REQUIRED.',
      },
    ],
    idempotencyKey:
      'The same key from the same shopper returns the first admission (202, same order id), also for concurrent replays. Refusals are not stored.',
    requestExample: { quantity: 1 },
  },
  'GET /orders/{id}': {
    ok: { status: 200, type: OrderViewDto, example: ORDER_EXAMPLE },
    errors: ['ORDER_NOT_FOUND'],
    id: 'order',
  },
  'GET /me/orders': {
    ok: { status: 200, type: OrderPageDto, example: { items: [ORDER_EXAMPLE], page: 1, pageSize: 20, total: 1 } },
  },
  'GET /orders/{id}/events': {
    ok: {
      status: 200,
      media: 'text/event-stream',
      example: `event: status\ndata: {"orderId":"${ORDER_ID}","status":"PENDING"}\n\nevent: status\ndata: {"orderId":"${ORDER_ID}","status":"AWAITING_PAYMENT"}\n\n`,
    },
    errors: ['ORDER_NOT_FOUND', 'TOO_MANY_STREAMS', 'STREAMS_BUSY'],
    id: 'order',
  },
  'POST /orders/{id}/pay': {
    ok: { status: 200, type: OrderViewDto, example: { ...ORDER_EXAMPLE, status: 'PAID', paymentDeadline: null } },
    errors: [
      'ORDER_NOT_FOUND',
      'FORBIDDEN',
      'ORDER_NOT_PAYABLE',
      'PAYMENT_DECLINED',
      'PAYMENT_UNAVAILABLE',
      'VALIDATION_FAILED',
    ],
    id: 'order',
    idempotencyKey: 'Sent to the payment provider, so a retried payment charges once.',
  },
  'POST /orders/{id}/cancel': {
    ok: {
      status: 200,
      type: OrderViewDto,
      example: { ...ORDER_EXAMPLE, status: 'CANCELLED', failureReason: 'requested', paymentDeadline: null },
    },
    errors: ['ORDER_NOT_FOUND', 'ORDER_NOT_CANCELLABLE'],
    id: 'order',
  },
  'GET /admin/notifications': {
    ok: {
      status: 200,
      type: NotificationPageDto,
      example: { items: [NOTIFICATION_EXAMPLE], page: 1, pageSize: 50, total: 1 },
    },
  },
  'POST /admin/notifications/{id}/retry': {
    ok: { status: 200, type: NotificationViewDto, example: { ...NOTIFICATION_EXAMPLE, status: 'QUEUED' } },
    errors: ['NOTIFICATION_NOT_FOUND', 'NOTIFICATION_NOT_RETRYABLE'],
    id: 'notification',
  },
  'GET /metrics': {
    ok: {
      status: 200,
      media: 'text/plain',
      example:
        '# HELP flash_gate_decisions_total Purchase decisions of this API process by sale and code (OK = admitted)\n' +
        '# TYPE flash_gate_decisions_total counter\n' +
        `flash_gate_decisions_total{sale="${SALE_ID}",code="OK"} 588\n`,
    },
    fastify: {
      summary: 'Prometheus metrics of this API process',
      description:
        'The Prometheus text format: process defaults, event-loop lag, the Postgres pool, HTTP latency by route ' +
        'template, gate decisions by sale and code, and the system-wide figures read at scrape time (queue depth ' +
        'and oldest waiting job, outbox lag, notifications, per-sale figures). With METRICS_TOKEN set it needs ' +
        '`Authorization: Bearer <METRICS_TOKEN>`. Workers serve theirs on WORKER_OPS_PORT.',
      tag: 'ops',
      auth: 'metrics-token',
    },
  },
  'GET /admin/live': {
    ok: { status: 200, media: 'text/html' },
    fastify: {
      summary: 'The live sale view (a page for admins)',
      description:
        'Each watched sale (open, starting within 15 minutes, ended within 10) with stock left, admissions/s, ' +
        'refusals by code, backlog, drain rate and orders by status, updated every second from /admin/live/stream. ' +
        'Without a session a browser gets the sign-in page (status 401).',
      tag: 'ops',
      auth: 'admin-page',
    },
  },
  'GET /admin/live/stream': {
    ok: {
      status: 200,
      media: 'text/event-stream',
      example: `event: sample\ndata: {"at":"${AT}","sales":[{"id":"${SALE_ID}","name":"Phone X launch","remaining":412,"admitted":588,"rates":{"admissions":95.2,"refusals":12,"drain":90.1}}]}\n\n`,
    },
    fastify: {
      summary: 'The live view figures, one sample per second (server-sent events)',
      description:
        '`event: sample` every second with `{at, sales: [...]}`; each sale carries its counts and the rates since ' +
        'the previous sample. `event: problem` when the stores cannot be read.',
      tag: 'ops',
      auth: 'admin-page',
    },
  },
};
