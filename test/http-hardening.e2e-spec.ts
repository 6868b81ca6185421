import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import type { AppConfig } from '../src/infra/config/app-config.js';
import { HSTS, SECURITY_HEADERS } from '../src/infra/http/security-headers.js';
import { buy, createActiveSale, query } from './support/buy.js';
import type { TestDatabase } from './support/env.js';
import { startFixture, type ApiFixture } from './support/fixture.js';
import { request, startApi, type Answer, type RunningApi } from './support/http.js';
import type { TestUser } from './support/users.js';

const UUID_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function expectSecurityHeaders(res: Answer): void {
  for (const [name, value] of SECURITY_HEADERS) expect([name, res.headers.get(name)]).toEqual([name, value]);
  expect(res.headers.get('x-request-id')).toBeTruthy();
}

describe('HTTP hardening: headers, request ids, router errors, body types, CORS, proxies', () => {
  let fx: ApiFixture;
  let db: TestDatabase;
  let config: AppConfig;
  let api: RunningApi;
  let admin: TestUser;
  let users: TestUser[];

  beforeAll(async () => {
    fx = await startFixture('hardening', { env: { RATE_LIMIT_IP_PER_SECOND: '2' }, users: 24 });
    ({ db, config, api, admin, users } = fx);
  });

  afterAll(async () => {
    await fx.close();
  });

  it('security headers on answers of every kind; no HSTS over plain HTTP', async () => {
    const answers = await Promise.all([
      request(api.url, 'GET', '/sales'),
      request(api.url, 'GET', '/nowhere'),
      request(api.url, 'GET', '/me/orders'),
      request(api.url, 'GET', `/sales/${'a'.repeat(300)}`),
      request(api.url, 'GET', '/sales/%zz'),
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 404, 401, 414, 400]);
    for (const res of answers) {
      expectSecurityHeaders(res);
      expect(res.headers.get('strict-transport-security')).toBeNull();
    }
  });

  it('x-request-id: a short safe id is kept; a long or unsafe one is replaced by a fresh id', async () => {
    const kept = await request(api.url, 'GET', '/sales', { headers: { 'x-request-id': 'trace-01.abc:9_Z' } });
    expect(kept.headers.get('x-request-id')).toBe('trace-01.abc:9_Z');
    for (const given of ['x'.repeat(8000), 'a b', '<script>', 'x'.repeat(65), 'é']) {
      const res = await request(api.url, 'GET', '/sales', { headers: { 'x-request-id': encodeURI(given) } });
      expect(res.headers.get('x-request-id')).toMatch(UUID_SHAPE);
    }
  });

  it('414 for an over-long path segment: house format, the input not echoed', async () => {
    const long = 'q'.repeat(500);
    const res = await request(api.url, 'GET', `/orders/${long}`, { token: users[0]!.token });
    expect(res.status).toBe(414);
    expect(res.body).toEqual({ statusCode: 414, code: 'URI_TOO_LONG', message: expect.any(String) });
    expect(JSON.stringify(res.body)).not.toContain('qqqq');
  });

  it('400 MALFORMED_URL for an undecodable URL, with x-request-id', async () => {
    const res = await request(api.url, 'GET', '/orders/%E0%A4%A', { headers: { 'x-request-id': 'bad-url-1' } });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ statusCode: 400, code: 'MALFORMED_URL', message: 'The URL could not be decoded' });
    expect(res.headers.get('x-request-id')).toBe('bad-url-1');
  });

  it('text/plain, form and multipart bodies are 415 UNSUPPORTED_MEDIA_TYPE and never parsed', async () => {
    const email = 'form@example.test';
    const bodies: [string, string][] = [
      ['text/plain', JSON.stringify({ email, password: 'long-enough-1', phone: '+14155550123' })],
      ['application/x-www-form-urlencoded', `email=${email}&password=long-enough-1&phone=%2B14155550123`],
      [
        'multipart/form-data; boundary=x',
        `--x\r\nContent-Disposition: form-data; name="email"\r\n\r\n${email}\r\n--x--`,
      ],
    ];
    for (const [type, raw] of bodies) {
      const res = await request(api.url, 'POST', '/auth/register', { raw, headers: { 'content-type': type } });
      expect([type, res.status, res.body]).toEqual([
        type,
        415,
        { statusCode: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: expect.any(String) },
      ]);
      expect(JSON.stringify(res.body)).not.toContain(type.split(';')[0]);
    }
    expect(await query(db.url, 'SELECT 1 FROM users WHERE email = $1', [email])).toEqual([]);
    // JSON with a charset is still JSON.
    const json = await request(api.url, 'POST', '/auth/login', {
      raw: JSON.stringify({ email, password: 'whatever-1' }),
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    expect(json.status).toBe(401);
  });

  it('PATCH /admin/sales/:id with null for a field is 400 VALIDATION_FAILED and changes nothing', async () => {
    const sale = await createActiveSale(api.url, admin, { stock: 7 });
    for (const field of ['stock', 'price', 'name', 'perUserLimit', 'startsAt']) {
      const res = await request(api.url, 'PATCH', `/admin/sales/${sale.id}`, {
        token: admin.token,
        body: { [field]: null },
      });
      expect([field, res.status, res.body]).toEqual([
        field,
        400,
        expect.objectContaining({ code: 'VALIDATION_FAILED', details: [{ field, problem: 'must not be null' }] }),
      ]);
    }
    const after = await request<{ stock: number; name: string }>(api.url, 'GET', `/admin/sales/${sale.id}`, {
      token: admin.token,
    });
    expect(after.body).toMatchObject({ stock: 7, name: 'spike' });
  });

  describe('CORS', () => {
    let cors: RunningApi;
    beforeAll(async () => {
      cors = await startApi({ ...config, CORS_ORIGINS: 'https://shop.example.com, http://localhost:5173' });
    });
    afterAll(() => cors.close());

    it('answers an allowed origin (and its preflight), not others; off when no origin is configured', async () => {
      const allowed = await request(cors.url, 'GET', '/sales', { headers: { origin: 'http://localhost:5173' } });
      expect(allowed.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
      expect(allowed.headers.get('access-control-expose-headers')).toMatch(/x-request-id/);
      expectSecurityHeaders(allowed);

      const preflight = await request(cors.url, 'OPTIONS', '/sales/x/orders', {
        headers: {
          origin: 'https://shop.example.com',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization, content-type, idempotency-key',
        },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin')).toBe('https://shop.example.com');
      expect(preflight.headers.get('access-control-allow-methods')).toMatch(/POST/);
      expect(preflight.headers.get('access-control-allow-headers')).toMatch(/idempotency-key/);
      // A storefront on another origin buys through the waiting room: its headers pass the preflight.
      expect(preflight.headers.get('access-control-allow-headers')).toMatch(/admission-token, queue-token/);

      const other = await request(cors.url, 'GET', '/sales', { headers: { origin: 'https://evil.example.com' } });
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
      expect(other.headers.get('vary')).toMatch(/origin/i);
      const otherPreflight = await request(cors.url, 'OPTIONS', '/sales/x/orders', {
        headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'POST' },
      });
      expect(otherPreflight.status).not.toBe(204);
      expect(otherPreflight.headers.get('access-control-allow-origin')).toBeNull();
      expect(otherPreflight.headers.get('access-control-allow-methods')).toBeNull();
      const off = await request(api.url, 'GET', '/sales', { headers: { origin: 'https://shop.example.com' } });
      expect(off.headers.get('access-control-allow-origin')).toBeNull();
    });
  });

  describe('trusted proxies (TRUST_PROXY)', () => {
    /** Six shoppers buying at once, each with another X-Forwarded-For; the per-IP limit is 2 a second. */
    async function spoofedVolley(target: RunningApi, from: number): Promise<number> {
      const sale = await createActiveSale(target.url, admin, { stock: 100 });
      const answers = await Promise.all(
        users
          .slice(from, from + 6)
          .map((u, i) => buy(target.url, u, sale.id, {}, { 'x-forwarded-for': `203.0.113.${i + 1}` })),
      );
      return answers.filter((a) => a.status === 202).length;
    }

    it('by default a spoofed X-Forwarded-For is ignored: the per-IP limit holds', async () => {
      expect(await spoofedVolley(api, 0)).toBeLessThanOrEqual(4); // 2 a second, the volley spans at most 2 seconds
    });

    it('from a listed proxy (or within a hop count) X-Forwarded-For is the client: each address has its own limit', async () => {
      for (const [i, trust] of ['127.0.0.1', '10.0.0.0/8, loopback', '1'].entries()) {
        const proxied = await startApi({ ...config, TRUST_PROXY: trust });
        try {
          expect([trust, await spoofedVolley(proxied, 6 + i * 6)]).toEqual([trust, 6]);
        } finally {
          await proxied.close();
        }
      }
    });

    it('from an address that is not a listed proxy, X-Forwarded-For is ignored', async () => {
      const elsewhere = await startApi({ ...config, TRUST_PROXY: '10.0.0.0/8' });
      try {
        expect(await spoofedVolley(elsewhere, 0)).toBeLessThanOrEqual(4);
      } finally {
        await elsewhere.close();
      }
    });

    it('the address the throttles count: the socket peer, or the right entry of X-Forwarded-For', async () => {
      const redis = new Redis(config.REDIS_URL);
      const counted = async (trust: string): Promise<string[]> => {
        const target = await startApi({
          ...config,
          TRUST_PROXY: trust,
          REDIS_KEY_PREFIX: `${config.REDIS_KEY_PREFIX}x`,
        });
        try {
          await request(target.url, 'POST', '/auth/login', {
            body: { email: 'who@example.test', password: 'whatever-1' },
            headers: { 'x-forwarded-for': '198.51.100.9, 203.0.113.7' },
          });
          const keys = await redis.keys(`${config.REDIS_KEY_PREFIX}x:auth:login:ip:*`);
          await redis.del(...keys);
          return keys.map((k) => k.split(':ip:')[1]!);
        } finally {
          await target.close();
        }
      };
      try {
        expect(await counted('false')).toEqual(['127.0.0.1']);
        expect(await counted('1')).toEqual(['203.0.113.7']); // one proxy: the entry it added
        expect(await counted('2')).toEqual(['198.51.100.9']);
        expect(await counted('127.0.0.1, 203.0.113.7')).toEqual(['198.51.100.9']);
      } finally {
        redis.disconnect();
      }
    });

    it('HSTS only when the request came over TLS, as a trusted proxy says', async () => {
      const proxied = await startApi({ ...config, TRUST_PROXY: 'loopback' });
      try {
        const viaTls = await request(proxied.url, 'GET', '/sales', { headers: { 'x-forwarded-proto': 'https' } });
        expect(viaTls.headers.get('strict-transport-security')).toBe(HSTS);
        const spoofed = await request(api.url, 'GET', '/sales', { headers: { 'x-forwarded-proto': 'https' } });
        expect(spoofed.headers.get('strict-transport-security')).toBeNull();
      } finally {
        await proxied.close();
      }
    });
  });
});
