import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AppConfig } from '../src/infra/config/app-config.js';
import { clearRedis, createTestDatabase, testConfig, type TestDatabase } from './support/env.js';
import { request, startApi, type RunningApi } from './support/http.js';
import { createUsers, type TestUser } from './support/users.js';

type Who = 'anonymous' | 'customer' | 'admin';
/** What each caller gets: 'ok' means the guard let it through (any non-401/403 answer). */
type Expect = Record<Who, 'ok' | 401 | 403>;

const PUBLIC: Expect = { anonymous: 'ok', customer: 'ok', admin: 'ok' };
const ADMIN_ONLY: Expect = { anonymous: 401, customer: 403, admin: 'ok' };
const SIGNED_IN: Expect = { anonymous: 401, customer: 'ok', admin: 'ok' };

describe('authorization matrix', () => {
  let db: TestDatabase;
  let config: AppConfig;
  let api: RunningApi;
  const tokens: Partial<Record<Who, string>> = {};
  let saleId = '';

  beforeAll(async () => {
    db = await createTestDatabase('authz');
    config = testConfig(db.url);
    api = await startApi(config);
    const [customer] = await createUsers(api, db.url, 1, 'CUSTOMER');
    const [admin] = await createUsers(api, db.url, 1, 'ADMIN');
    tokens.customer = (customer as TestUser).token;
    tokens.admin = (admin as TestUser).token;
    const created = await request<{ id: string }>(api.url, 'POST', '/admin/sales', {
      token: tokens.admin,
      body: {
        name: 'matrix',
        sku: 'M-1',
        price: 100,
        stock: 5,
        perUserLimit: 1,
        startsAt: new Date(Date.now() + 3600_000).toISOString(),
        endsAt: new Date(Date.now() + 7200_000).toISOString(),
      },
    });
    saleId = created.body.id;
  });

  afterAll(async () => {
    await api.close();
    await clearRedis(config);
    await db.drop();
  });

  const routes = (): [string, string, Expect, unknown?][] => [
    ['GET', '/health', PUBLIC],
    ['POST', '/auth/register', PUBLIC, {}],
    ['POST', '/auth/login', PUBLIC, {}],
    ['GET', '/sales', PUBLIC],
    ['GET', `/sales/${saleId}`, PUBLIC],
    ['POST', '/admin/sales', ADMIN_ONLY, {}],
    ['GET', '/admin/sales', ADMIN_ONLY],
    ['GET', `/admin/sales/${saleId}`, ADMIN_ONLY],
    ['PATCH', `/admin/sales/${saleId}`, ADMIN_ONLY, { name: 'matrix' }],
    ['POST', `/admin/sales/${saleId}/preheat`, ADMIN_ONLY],
    ['POST', `/admin/sales/${saleId}/pause`, ADMIN_ONLY],
    ['POST', `/admin/sales/${saleId}/resume`, ADMIN_ONLY],
    ['GET', `/admin/sales/${saleId}/stats`, ADMIN_ONLY],
    ['POST', `/admin/sales/${saleId}/reconcile`, ADMIN_ONLY],
    ['POST', `/admin/sales/${saleId}/reconcile?repair=true`, ADMIN_ONLY],
    ['POST', `/sales/${saleId}/orders`, SIGNED_IN, {}],
    ['GET', '/me/orders', SIGNED_IN],
    ['GET', '/orders/01M7YZX1DZ8S6341YWM6X2TXK7', SIGNED_IN],
    ['GET', '/orders/01M7YZX1DZ8S6341YWM6X2TXK7/events', SIGNED_IN],
    ['POST', '/orders/01M7YZX1DZ8S6341YWM6X2TXK7/pay', SIGNED_IN],
    ['POST', '/orders/01M7YZX1DZ8S6341YWM6X2TXK7/cancel', SIGNED_IN],
    ['DELETE', `/admin/sales/00000000-0000-4000-8000-000000000000`, ADMIN_ONLY],
    ['POST', `/admin/sales/00000000-0000-4000-8000-000000000000/end`, ADMIN_ONLY],
  ];

  it('lets through exactly who may call each route', async () => {
    const failures: string[] = [];
    for (const [method, path, expected, body] of routes()) {
      for (const who of ['anonymous', 'customer', 'admin'] as const) {
        const res = await request(api.url, method, path, { token: tokens[who], body });
        const want = expected[who];
        const ok = want === 'ok' ? res.status !== 401 && res.status !== 403 && res.status < 500 : res.status === want;
        if (!ok) failures.push(`${who} ${method} ${path}: got ${res.status}, want ${want}`);
      }
    }
    expect(failures).toEqual([]);
  });
});
