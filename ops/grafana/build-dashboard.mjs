// Writes ops/grafana/dashboards/flash-sale.json (the provisioned dashboard)
// from the panel list below: `node ops/grafana/build-dashboard.mjs`.
// test/ops.e2e-spec.ts checks that every metric it queries is exported.
import { writeFileSync } from 'node:fs';

const NAME = '* on (sale) group_left (name) max by (sale, name) (flash_sale_info)';
const panels = [
  ['row', 'Sales (the live view’s figures)'],
  ['Stock left', `max by (sale) (flash_sale_remaining) ${NAME}`, '{{name}}', 'short'],
  ['Admissions per second', `max by (sale) (rate(flash_sale_admitted[30s])) ${NAME}`, '{{name}}', 'reqps'],
  ['Refusals per second by code', 'max by (sale, code) (rate(flash_sale_refusals[30s]))', '{{code}} {{sale}}', 'reqps'],
  ['Backlog (admitted, not yet persisted)', `max by (sale) (flash_sale_backlog) ${NAME}`, '{{name}}', 'short'],
  [
    'Drain rate (orders persisted per second)',
    `max by (sale) (deriv((sum by (sale, instance) (flash_sale_orders{status!="QUEUED"}))[1m:5s])) ${NAME}`,
    '{{name}}',
    'reqps',
  ],
  ['Orders by status', 'max by (sale, status) (flash_sale_orders)', '{{status}} {{sale}}', 'short'],
  [
    'Gate decisions per second by code (per API process)',
    'sum by (code) (rate(flash_gate_decisions_total[30s]))',
    '{{code}}',
    'reqps',
  ],
  ['row', 'Waiting rooms'],
  ['Waiting in the queue', `max by (sale) (flash_room_waiting) ${NAME}`, '{{name}}', 'short'],
  ['Admitted and not done', `max by (sale) (flash_room_active) ${NAME}`, '{{name}}', 'short'],
  [
    'Let in per second (target and measured)',
    'max by (sale, kind) (flash_room_admit_rate)',
    '{{kind}} {{sale}}',
    'reqps',
  ],
  ['Estimated wait of the last in line', `max by (sale) (flash_room_estimated_wait_seconds) ${NAME}`, '{{name}}', 's'],
  ['Joins per second', 'sum by (sale) (rate(flash_room_joins_total[30s]))', '{{sale}}', 'reqps'],
  [
    'Polls per second by source (token: no Redis)',
    'sum by (source) (rate(flash_room_polls_total[30s]))',
    '{{source}}',
    'reqps',
  ],
  ['Admissions lapsed per second', 'sum by (sale) (rate(flash_room_lapsed_total[1m]))', '{{sale}}', 'reqps'],
  ['Waiters gone (stopped polling) per second', 'sum by (sale) (rate(flash_room_gone_total[1m]))', '{{sale}}', 'reqps'],
  ['row', 'HTTP'],
  [
    'Requests per second by route and status',
    'sum by (route, status) (rate(flash_http_request_duration_seconds_count[30s]))',
    '{{route}} {{status}}',
    'reqps',
  ],
  [
    'p99 latency by route',
    'histogram_quantile(0.99, sum by (le, route) (rate(flash_http_request_duration_seconds_bucket[1m])))',
    '{{route}}',
    's',
  ],
  ['row', 'Queues and workers'],
  [
    'Jobs waiting by queue',
    'max by (queue) (flash_queue_jobs{state=~"wait|prioritized|delayed"})',
    '{{queue}}',
    'short',
  ],
  ['Oldest waiting job by queue', 'max by (queue) (flash_queue_oldest_waiting_seconds)', '{{queue}}', 's'],
  ['Jobs completed per second by queue', 'sum by (queue) (rate(flash_jobs_completed_total[30s]))', '{{queue}}', 'ops'],
  [
    'Job attempts failed per second by queue',
    'sum by (queue) (rate(flash_jobs_failed_total[30s]))',
    '{{queue}}',
    'ops',
  ],
  [
    'Dead letters (failed jobs kept) by queue',
    'max by (queue) (flash_queue_jobs{state="failed"})',
    '{{queue}}',
    'short',
  ],
  ['Outbox lag (oldest event not relayed)', 'max(flash_outbox_lag_seconds)', 'lag', 's'],
  [
    'Notifications by channel and status',
    'max by (channel, status) (flash_notifications)',
    '{{channel}} {{status}}',
    'short',
  ],
  ['row', 'Processes'],
  ['Event-loop lag p99', 'max by (job, instance) (nodejs_eventloop_lag_p99_seconds)', '{{job}} {{instance}}', 's'],
  ['Postgres pool', 'sum by (job, state) (flash_pg_pool_connections)', '{{job}} {{state}}', 'short'],
  ['Queries waiting for a Postgres connection', 'sum by (job) (flash_pg_pool_waiting_clients)', '{{job}}', 'short'],
  ['CPU (cores)', 'sum by (job, instance) (rate(process_cpu_seconds_total[30s]))', '{{job}} {{instance}}', 'short'],
  ['Resident memory', 'max by (job, instance) (process_resident_memory_bytes)', '{{job}} {{instance}}', 'bytes'],
];

let y = 0;
let x = 0;
let id = 1;
const out = [];
for (const [title, expr, legend, unit] of panels) {
  if (title === 'row') {
    if (x !== 0) y += 8;
    x = 0;
    out.push({
      id: id++,
      type: 'row',
      title: expr,
      collapsed: false,
      gridPos: { h: 1, w: 24, x: 0, y: y++ },
      panels: [],
    });
    continue;
  }
  out.push({
    id: id++,
    type: 'timeseries',
    title,
    datasource: { type: 'prometheus', uid: 'prometheus' },
    gridPos: { h: 8, w: 8, x, y },
    fieldConfig: { defaults: { unit, custom: { lineWidth: 1, fillOpacity: 10 } }, overrides: [] },
    options: { legend: { displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi' } },
    targets: [{ refId: 'A', datasource: { type: 'prometheus', uid: 'prometheus' }, expr, legendFormat: legend }],
  });
  x += 8;
  if (x >= 24) {
    x = 0;
    y += 8;
  }
}

const dashboard = {
  uid: 'flash-sale',
  title: 'flash-sale',
  tags: ['flash-sale'],
  timezone: 'browser',
  refresh: '5s',
  time: { from: 'now-15m', to: 'now' },
  schemaVersion: 39,
  version: 1,
  editable: true,
  panels: out,
};
writeFileSync(new URL('./dashboards/flash-sale.json', import.meta.url), `${JSON.stringify(dashboard, null, 2)}\n`);
