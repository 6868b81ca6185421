import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { JwtService } from '@nestjs/jwt';
import { GateReadModel } from '../src/gate/gate-read-model.js';
import { buy, createActiveSale } from './support/buy.js';
import { JWT_SECRET } from './support/env.js';
import { startFixture, type ApiFixture } from './support/fixture.js';
import { request, type RunningApi } from './support/http.js';
import type { TestUser } from './support/users.js';

/** Bodies of every JSON shape and some hostile values. */
const BODIES: unknown[] = [
  null,
  [],
  'text',
  42,
  true,
  {},
  { quantity: null },
  { quantity: -1e308 },
  { quantity: '1; DROP TABLE orders' },
  { name: { nested: [1, 2, { deep: true }] } },
  { stock: 1e300, price: Number.MAX_SAFE_INTEGER, perUserLimit: 2 ** 31 },
  { startsAt: '2026-13-45T99:99:99Z', endsAt: '0000-00-00T00:00:00Z' },
  { startsAt: '2026-01-01T00:00:00Z', endsAt: '+275760-09-13T00:00:00.001Z' },
  { email: 'a@b.c'.repeat(100), password: '\u0000\u0001', phone: '+1'.padEnd(100, '9') },
  { __proto__: { admin: true }, constructor: { prototype: { role: 'ADMIN' } } },
  { name: '𝓤𝓷𝓲𝓬𝓸𝓭𝓮 🛒', sku: '../../etc/passwd' },
  // Lone UTF-16 surrogates (JSON "\ud800" escapes): validator.js threw a URIError on them.
  { email: '\ud800@example.test', password: 'long-enough-1', phone: '+14155550123', name: '\udfff' },
  { email: 'a\udc00b@example.test', password: '\ud83d', sku: '\ud800', quantity: 1 },
];

/** Tokens correctly signed with the API's secret whose claims it never issues. */
const jwt = new JwtService({ secret: JWT_SECRET });
const ODD_TOKENS: [string, string][] = [
  ['sub not a UUID', jwt.sign({ sub: 'x', role: 'CUSTOMER' })],
  ['sub a number', jwt.sign({ sub: 42, role: 'ADMIN' })],
  ['sub with SQL after a UUID', jwt.sign({ sub: "00000000-0000-0000-0000-000000000000' OR '1'='1", role: 'ADMIN' })],
  ['no sub', jwt.sign({ role: 'ADMIN' })],
  ['unknown role', jwt.sign({ sub: '00000000-0000-0000-0000-000000000000', role: 'ROOT' })],
  ['no role', jwt.sign({ sub: '00000000-0000-0000-0000-000000000000' })],
];

/** Path segments where an id goes. */
const IDS = [
  'x',
  '00000000-0000-0000-0000-000000000000',
  '%00',
  "1' OR '1'='1",
  'a'.repeat(300),
  '01M7YZX1DZ8S6341YWM6X2TX!!',
];

describe('no input makes a 500 (invariant 6)', () => {
  let fx: ApiFixture;
  let api: RunningApi;
  let admin: TestUser;
  let shopper: TestUser;
  let saleId = '';
  let orderId = '';

  beforeAll(async () => {
    fx = await startFixture('badinput', { users: 1 });
    ({ api, admin } = fx);
    [shopper] = fx.users;
    saleId = (await createActiveSale(api.url, admin!, { stock: 5 })).id;
    orderId = (await buy(api.url, shopper!, saleId)).body.orderId!;
  });

  afterAll(async () => {
    await fx.close();
  });

  const routes = (id: string, order: string): [string, string][] => [
    ['POST', '/auth/register'],
    ['POST', '/auth/login'],
    ['GET', `/sales/${id}`],
    ['POST', '/admin/sales'],
    ['GET', `/admin/sales/${id}`],
    ['PATCH', `/admin/sales/${id}`],
    ['DELETE', `/admin/sales/${id}`],
    ['POST', `/admin/sales/${id}/preheat`],
    ['POST', `/admin/sales/${id}/pause`],
    ['GET', `/admin/sales/${id}/stats`],
    ['POST', `/admin/sales/${id}/reconcile?repair=maybe`],
    ['POST', `/sales/${id}/orders`],
    ['GET', `/orders/${order}`],
    ['POST', `/orders/${order}/pay`],
    ['POST', `/orders/${order}/cancel`],
    ['GET', '/admin/notifications?status=NOPE&orderId=x&page=-1'],
    ['GET', '/admin/sales?page=abc&pageSize=1e9'],
    ['GET', '/me/orders?page=0'],
    ['GET', '/me/orders?page=1e20'],
    ['GET', '/admin/sales?page=1e20&pageSize=100'],
    ['GET', '/admin/notifications?page=9007199254740993'],
  ];
  const PUBLIC = /^\/auth\/|^\/sales\/[^/]+$/;

  it('answers every route with every body shape and odd ids without a 5xx, in the error shape', async () => {
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    const targets: [string, string][] = [[saleId, orderId], ...IDS.map((id): [string, string] => [id, id])];
    for (const [id, order] of targets) {
      for (const [method, path] of routes(encodeURIComponent(id), encodeURIComponent(order))) {
        for (const who of [admin!, shopper!]) {
          for (const body of method === 'GET' || method === 'DELETE' ? [undefined] : BODIES) {
            const res = await request(api.url, method, path, {
              token: who.token,
              ...(body === undefined
                ? {}
                : { raw: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
            });
            statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
            const shapeOk =
              res.status < 400 ||
              (typeof res.body === 'object' &&
                res.body !== null &&
                typeof (res.body as { code?: unknown }).code === 'string');
            if (res.status >= 500 || !shapeOk) {
              failures.push(`${method} ${path} ${JSON.stringify(body)} → ${res.status} ${JSON.stringify(res.body)}`);
            }
          }
        }
      }
    }
    expect(failures).toEqual([]);
    // The volley reached the checks it is meant to try: validation, lookups, roles.
    expect(statuses.get(400)).toBeGreaterThan(100);
    expect(statuses.get(404)).toBeGreaterThan(100);
    expect(statuses.get(403)).toBeGreaterThan(10);
  });

  it('a lone surrogate in email is 400 VALIDATION_FAILED on login and register', async () => {
    const email = 'ann\ud800@example.test';
    const bodies: [string, Record<string, string>][] = [
      ['/auth/login', { email, password: 'long-enough-1' }],
      ['/auth/register', { email, password: 'long-enough-1', phone: '+14155550123' }],
    ];
    for (const [path, body] of bodies) {
      const res = await request(api.url, 'POST', path, { body });
      expect([path, res.status, res.body]).toEqual([
        path,
        400,
        expect.objectContaining({
          code: 'VALIDATION_FAILED',
          details: [{ field: 'email', problem: 'must be an email address' }],
        }),
      ]);
    }
  });

  it('page=1e20 on the list routes is 400 VALIDATION_FAILED', async () => {
    for (const path of ['/me/orders?page=1e20', '/admin/sales?page=1e20', '/admin/notifications?page=1e20']) {
      const res = await request(api.url, 'GET', path, { token: admin!.token });
      expect([path, res.status, res.body]).toEqual([path, 400, expect.objectContaining({ code: 'VALIDATION_FAILED' })]);
    }
  });

  it.each(ODD_TOKENS)(
    'a validly signed token with %s is 401 UNAUTHORIZED on every protected route',
    async (_, token) => {
      const gateReads = api.app.get(GateReadModel);
      const before = await gateReads.remaining(saleId);
      const failures: string[] = [];
      for (const [method, path] of routes(saleId, orderId)) {
        const res = await request(api.url, method, path, {
          token,
          body: method === 'GET' || method === 'DELETE' ? undefined : {},
        });
        const expected = PUBLIC.test(path)
          ? res.status < 500
          : res.status === 401 && (res.body as { code?: string }).code === 'UNAUTHORIZED';
        if (!expected) failures.push(`${method} ${path} → ${res.status} ${JSON.stringify(res.body)}`);
      }
      expect(failures).toEqual([]);
      // The purchase among them took nothing from the gate (no ticket for a user that does not exist).
      expect(await gateReads.remaining(saleId)).toBe(before);
    },
  );
});
