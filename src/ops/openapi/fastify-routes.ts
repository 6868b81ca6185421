import { EXAMPLE } from '../../infra/openapi/examples.js';
import type { RouteAnswers } from '../../infra/openapi/answers.js';

/**
 * A route served by Fastify outside Nest (GET /metrics, the live view): no
 * handler to carry @Answers, so what the document says of it is written here.
 */
export interface FastifyRoute {
  method: 'GET';
  path: string;
  summary: string;
  description: string;
  auth: 'admin-page' | 'metrics-token';
  answers: RouteAnswers;
}

export const FASTIFY_ROUTES: FastifyRoute[] = [
  {
    method: 'GET',
    path: '/metrics',
    summary: 'Prometheus metrics of this API process',
    description:
      'The Prometheus text format: process defaults, event-loop lag, the Postgres pool, HTTP latency by route ' +
      'template, gate decisions by sale and code, and the system-wide figures read at scrape time (queue depth ' +
      'and oldest waiting job, outbox lag, notifications, per-sale figures). With METRICS_TOKEN set it needs ' +
      '`Authorization: Bearer <METRICS_TOKEN>`. Workers serve theirs on WORKER_OPS_PORT.',
    auth: 'metrics-token',
    answers: {
      status: 200,
      media: 'text/plain',
      example:
        '# HELP flash_gate_decisions_total Purchase decisions of this API process by sale and code (OK = admitted)\n' +
        '# TYPE flash_gate_decisions_total counter\n' +
        `flash_gate_decisions_total{sale="${EXAMPLE.saleId}",code="OK"} 588\n`,
    },
  },
  {
    method: 'GET',
    path: '/admin/live',
    summary: 'The live sale view (a page for admins)',
    description:
      'Each watched sale (open, starting within 15 minutes, ended within 10) with stock left, admissions/s, ' +
      'refusals by code, backlog, drain rate and orders by status, updated every second from /admin/live/stream. ' +
      'Without a session a browser gets the sign-in page (status 401).',
    auth: 'admin-page',
    answers: { status: 200, media: 'text/html' },
  },
  {
    method: 'GET',
    path: '/admin/live/stream',
    summary: 'The live view figures, one sample per second (server-sent events)',
    description:
      '`event: sample` every second with `{at, sales: [...]}`; each sale carries its counts and the rates since ' +
      'the previous sample. `event: problem` when the stores cannot be read.',
    auth: 'admin-page',
    answers: {
      status: 200,
      media: 'text/event-stream',
      example: `event: sample\ndata: {"at":"${EXAMPLE.at}","sales":[{"id":"${EXAMPLE.saleId}","name":"Phone X launch","remaining":412,"admitted":588,"rates":{"admissions":95.2,"refusals":12,"drain":90.1}}]}\n\n`,
    },
  },
];
