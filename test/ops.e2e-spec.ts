import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { INestApplicationContext } from '@nestjs/common';
import { MetricsRegistry } from '../src/infra/metrics/metrics.registry.js';
import type { SaleView } from '../src/sales/sale-view.js';
import { buy, createActiveSale, statusCounts } from './support/buy.js';
import type { TestDatabase } from './support/env.js';
import { startFixture, type ApiFixture } from './support/fixture.js';
import { waitFor } from './support/wait-for.js';
import { request, type RunningApi } from './support/http.js';
import { startSmtpServer, type TestSmtpServer } from './support/notify-servers.js';
import type { TestUser } from './support/users.js';
import { ROOT } from './support/processes.js';

const METRICS_TOKEN = 'metrics-token-for-the-ops-suite';

/** `name{labels} value` lines of the Prometheus text format → value by `name{labels}`. */
function samples(text: string): Map<string, number> {
  const map = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    map.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return map;
}

describe('ops: metrics and the admin pages', () => {
  let fx: ApiFixture;
  let db: TestDatabase;
  let smtp: TestSmtpServer;
  let api: RunningApi;
  let worker: INestApplicationContext;
  let admin: TestUser;
  let shoppers: TestUser[];
  let sale: SaleView;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    fx = await startFixture('ops', { env: { METRICS_TOKEN, SMTP_URL: smtp.url }, users: 3, worker: true });
    ({ db, api, admin, users: shoppers } = fx);
    worker = fx.worker!;
    sale = await createActiveSale(api.url, admin!, { stock: 10 });
  });

  afterAll(async () => {
    await smtp.close();
    await fx.close();
  });

  const scrape = async (): Promise<Map<string, number>> => {
    const res = await request<string>(api.url, 'GET', '/metrics', {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    return samples(res.body);
  };

  describe('GET /metrics', () => {
    it('needs the METRICS_TOKEN bearer when one is set', async () => {
      expect((await request(api.url, 'GET', '/metrics')).status).toBe(401);
      const wrong = await request(api.url, 'GET', '/metrics', {
        headers: { authorization: 'Bearer not-the-token-at-all' },
      });
      expect(wrong.status).toBe(401);
      expect(wrong.body).toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED' });
    });

    it('moves after purchases: HTTP latency by route, sale figures, queues, outbox, notifications, worker jobs', async () => {
      const before = await scrape();
      const route = 'flash_http_request_duration_seconds_count{method="POST",route="/sales/:id/orders",status="202"}';
      expect(before.get(route) ?? 0).toBe(0);
      for (const shopper of shoppers) expect((await buy(api.url, shopper, sale.id)).status).toBe(202);
      await waitFor(
        'orders awaiting payment',
        () => statusCounts(db.url, sale.id),
        (c) => c.AWAITING_PAYMENT === 3,
      );
      await waitFor(
        'emails sent',
        () => Promise.resolve(smtp.received.length),
        (n) => n >= 3,
      );

      // Sale figures come from a sample at most a second old.
      const after = await waitFor(
        'fresh sale figures',
        scrape,
        (m) => m.get(`flash_sale_admitted{sale="${sale.id}"}`) === 3,
      );
      expect(after.get(route)).toBe(3);
      expect(after.get(`flash_sale_admitted{sale="${sale.id}"}`)).toBe(3);
      expect(after.get(`flash_sale_remaining{sale="${sale.id}"}`)).toBe(7);
      expect(after.get(`flash_sale_orders{sale="${sale.id}",status="AWAITING_PAYMENT"}`)).toBe(3);
      expect(after.get(`flash_sale_info{sale="${sale.id}",name="spike",status="ACTIVE"}`)).toBe(1);
      expect(after.get('flash_queue_jobs{queue="orders",state="wait"}')).toBe(0);
      expect(after.has('flash_queue_oldest_waiting_seconds{queue="inventory"}')).toBe(true);
      expect(after.get('flash_outbox_lag_seconds')).toBeGreaterThanOrEqual(0);
      await waitFor(
        'notification records SENT',
        scrape,
        (m) => (m.get('flash_notifications{channel="EMAIL",status="SENT"}') ?? 0) >= 3,
      );
      expect(after.get('flash_pg_pool_connections{state="total"}')).toBeGreaterThan(0);
      expect(after.has('nodejs_eventloop_lag_seconds')).toBe(true);
      expect(after.has('process_cpu_user_seconds_total')).toBe(true);

      const workerMetrics = samples(await worker.get(MetricsRegistry).metrics());
      expect(workerMetrics.get('flash_jobs_completed_total{queue="orders"}')).toBeGreaterThanOrEqual(1);
      expect(workerMetrics.get('flash_jobs_completed_total{queue="inventory"}')).toBeGreaterThanOrEqual(1);
      expect(workerMetrics.get('flash_jobs_failed_total{queue="orders"}')).toBe(0);
      expect(workerMetrics.has('process_resident_memory_bytes')).toBe(true);
    });

    it('exports every metric the provisioned Grafana dashboard queries', async () => {
      const dashboard = readFileSync(path.join(ROOT, 'ops/grafana/dashboards/flash-sale.json'), 'utf8');
      const queried = new Set(dashboard.match(/\b(?:flash|nodejs|process)_[a-z0-9_]+/g));
      // Declared metrics (# TYPE) and their series (histograms add _bucket, _count, _sum).
      const names = (text: string): string[] => [
        ...[...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]!),
        ...[...samples(text).keys()].map((k) => k.split('{')[0]!),
      ];
      const fromApi = await request<string>(api.url, 'GET', '/metrics', {
        headers: { authorization: `Bearer ${METRICS_TOKEN}` },
      });
      const exported = new Set([...names(fromApi.body), ...names(await worker.get(MetricsRegistry).metrics())]);
      expect(queried.size).toBeGreaterThan(15);
      expect([...queried].filter((name) => !exported.has(name))).toEqual([]);
    });
  });

  describe('admin-only pages (queue dashboard, live view)', () => {
    let boardStatic: string;
    let cookie: string;

    beforeAll(async () => {
      const html = await request<string>(api.url, 'GET', '/admin/queues', { token: admin!.token });
      expect(html.status).toBe(200);
      boardStatic = `/admin/queues/${/"(static\/js\/main\.[^"]+\.js)"/.exec(html.body)![1]!}`;
      const session = await request(api.url, 'POST', '/admin/session', { token: admin!.token });
      expect(session.status).toBe(200);
      const setCookie = session.headers.get('set-cookie')!;
      expect(setCookie).toMatch(/^flash_admin=[^;]+; Path=\/admin; Max-Age=\d+; HttpOnly; SameSite=Strict$/);
      cookie = setCookie.split(';')[0]!;
    });

    const routes = (): [string, string][] => [
      ['GET', '/admin/queues'],
      ['GET', boardStatic],
      ['GET', '/admin/queues/api/queues'],
      ['PUT', '/admin/queues/api/queues/orders/retry/failed'],
      ['PUT', '/admin/queues/api/queues/orders/clean/failed'],
      ['GET', '/admin/live'],
      ['GET', '/admin/live/live.js'],
    ];

    it('answers 401 on every route without credentials, 403 to a shopper, and serves an admin (bearer or cookie)', async () => {
      for (const [method, path] of routes()) {
        const anonymous = await request(api.url, method, path);
        expect([method, path, anonymous.status]).toEqual([method, path, 401]);
        expect(anonymous.body).toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED' });
        const shopper = await request(api.url, method, path, { token: shoppers[0]!.token });
        expect([method, path, shopper.status]).toEqual([method, path, 403]);
        const tampered = await request(api.url, method, path, { headers: { cookie: `${cookie}x` } });
        expect([method, path, tampered.status]).toEqual([method, path, 401]);
        const byBearer = await request(api.url, method, path, { token: admin!.token });
        expect([method, path, byBearer.status]).toEqual([method, path, 200]);
        const byCookie = await request(api.url, method, path, { headers: { cookie } });
        expect([method, path, byCookie.status]).toEqual([method, path, 200]);
      }
    });

    it('gives a browser without a session the sign-in page (status 401)', async () => {
      const res = await request<string>(api.url, 'GET', '/admin/live', { headers: { accept: 'text/html' } });
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toContain('text/html');
      expect(res.body).toContain('<form id="signin">');
      for (const asset of ['/admin/login.js', '/admin/admin.css']) {
        expect((await request(api.url, 'GET', asset)).status).toBe(200);
      }
    });

    it('streams live figures to an admin only', async () => {
      expect((await fetch(`${api.url}/admin/live/stream`)).status).toBe(401);
      const controller = new AbortController();
      const res = await fetch(`${api.url}/admin/live/stream`, { headers: { cookie }, signal: controller.signal });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/event-stream');
      const reader = res.body!.getReader();
      let text = '';
      while (!text.includes('event: sample')) text += new TextDecoder().decode((await reader.read()).value);
      controller.abort();
      const data = /event: sample\ndata: (.+)\n/.exec(text)![1]!;
      const sample = JSON.parse(data) as { sales: { id: string; admitted: number; stock: number }[] };
      expect(sample.sales).toEqual(expect.arrayContaining([expect.objectContaining({ id: sale.id, stock: 10 })]));
    });

    it('signs a browser out', async () => {
      const res = await request(api.url, 'DELETE', '/admin/session');
      expect(res.status).toBe(204);
      expect(res.headers.get('set-cookie')).toContain('flash_admin=; Path=/admin; Max-Age=0');
    });
  });
});
