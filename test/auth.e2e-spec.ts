import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { JwtService } from '@nestjs/jwt';
import { clearRedis, createTestDatabase, JWT_SECRET, testConfig, type TestDatabase } from './support/env.js';
import { request, startApi, type RunningApi } from './support/http.js';
import type { AppConfig } from '../src/infra/config/app-config.js';

const ADMIN = { email: 'root@example.test', password: 'admin-password-1' };

describe('accounts and auth', () => {
  let db: TestDatabase;
  let config: AppConfig;
  let api: RunningApi;

  beforeAll(async () => {
    db = await createTestDatabase('auth');
    config = testConfig(db.url, { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password, JWT_EXPIRES_IN: '1h' });
    api = await startApi(config);
  });

  afterAll(async () => {
    await api.close();
    await clearRedis(config);
    await db.drop();
  });

  const shopper = { email: 'Ann@Example.test', phone: '+14155550123', password: 'correct horse', name: 'Ann' };

  it('registers a shopper (201) without exposing the password hash', async () => {
    const res = await request(api.url, 'POST', '/auth/register', { body: shopper });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ email: 'ann@example.test', phone: '+14155550123', name: 'Ann', role: 'CUSTOMER' });
    expect(JSON.stringify(res.body)).not.toMatch(/password|scrypt/i);
  });

  it('refuses a second account with the same email, whatever its case (409 EMAIL_TAKEN)', async () => {
    const res = await request(api.url, 'POST', '/auth/register', { body: { ...shopper, email: 'ANN@example.test' } });
    expect(res.status).toBe(409);
    expect(res.body).toEqual({ statusCode: 409, code: 'EMAIL_TAKEN', message: expect.any(String) });
  });

  it('logs in and the token opens a protected route', async () => {
    const res = await request<{ accessToken: string; tokenType: string }>(api.url, 'POST', '/auth/login', {
      body: { email: shopper.email, password: shopper.password },
    });
    expect(res.status).toBe(200);
    expect(res.body.tokenType).toBe('Bearer');
    const claims = new JwtService({ secret: JWT_SECRET }).verify<{
      sub: string;
      role: string;
      exp: number;
      iat: number;
    }>(res.body.accessToken);
    expect(claims.role).toBe('CUSTOMER');
    expect(claims.exp - claims.iat).toBe(3600);
  });

  it('answers a wrong password and an unknown email alike (401 INVALID_CREDENTIALS)', async () => {
    const wrong = await request(api.url, 'POST', '/auth/login', {
      body: { email: shopper.email, password: 'nope-nope' },
    });
    const unknown = await request(api.url, 'POST', '/auth/login', {
      body: { email: 'ghost@example.test', password: 'nope-nope' },
    });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body).toEqual(unknown.body);
    expect(wrong.body).toMatchObject({ code: 'INVALID_CREDENTIALS' });
  });

  it('spends a password hash on an unknown email too (similar time)', async () => {
    const time = async (email: string): Promise<number> => {
      const start = performance.now();
      await request(api.url, 'POST', '/auth/login', { body: { email, password: 'nope-nope' } });
      return performance.now() - start;
    };
    // Warm up, then compare medians: a missing hash would make the unknown email ~10x faster.
    await time('ghost@example.test');
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 5; i++) {
      known.push(await time(shopper.email));
      unknown.push(await time(`ghost${i}@example.test`));
    }
    const median = (xs: number[]): number => xs.sort((a, b) => a - b)[2]!;
    expect(median(unknown)).toBeGreaterThan(median(known) * 0.5);
  });

  it('creates the admin from ADMIN_EMAIL/ADMIN_PASSWORD at start, once', async () => {
    const res = await request<{ accessToken: string }>(api.url, 'POST', '/auth/login', { body: ADMIN });
    expect(res.status).toBe(200);
    const claims = new JwtService({ secret: JWT_SECRET }).verify<{ role: string }>(res.body.accessToken);
    expect(claims.role).toBe('ADMIN');
    // A second API copy starting against the same database does not fail or duplicate it.
    const second = await startApi(config);
    await second.close();
    const again = await request(api.url, 'POST', '/auth/login', { body: ADMIN });
    expect(again.status).toBe(200);
  });

  describe('tokens', () => {
    const jwt = new JwtService({ secret: JWT_SECRET });
    const protectedRoute = (token?: string): ReturnType<typeof request> =>
      request(api.url, 'GET', '/admin/sales', token ? { token } : {});

    it('401 without a token', async () => {
      const res = await protectedRoute();
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ code: 'UNAUTHORIZED' });
    });

    it('401 with a tampered token', async () => {
      const token = jwt.sign({ sub: 'x', role: 'CUSTOMER' });
      const [h, , s] = token.split('.');
      const forged = `${h}.${Buffer.from(JSON.stringify({ sub: 'x', role: 'ADMIN' })).toString('base64url')}.${s}`;
      expect((await protectedRoute(forged)).status).toBe(401);
    });

    it('401 with a token signed by another secret', async () => {
      const other = new JwtService({ secret: 'another-secret-another-secret-0000' });
      expect((await protectedRoute(other.sign({ sub: 'x', role: 'ADMIN' }))).status).toBe(401);
    });

    it('401 with an expired token', async () => {
      const expired = jwt.sign({ sub: 'x', role: 'ADMIN', exp: Math.floor(Date.now() / 1000) - 10 });
      expect((await protectedRoute(expired)).status).toBe(401);
    });

    it('401 with an unsigned ("alg": "none") token', async () => {
      const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(
        JSON.stringify({ sub: 'x', role: 'ADMIN' }),
      ).toString('base64url')}.`;
      expect((await protectedRoute(none)).status).toBe(401);
    });

    it('403 for a valid customer token on an admin route', async () => {
      const res = await protectedRoute(jwt.sign({ sub: '00000000-0000-0000-0000-000000000000', role: 'CUSTOMER' }));
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ code: 'FORBIDDEN' });
    });
  });

  describe('validation', () => {
    const valid = { email: 'v@example.test', phone: '+4930123456', password: 'long-enough' };
    it.each([
      ['email', { ...valid, email: 'not-an-email' }, 'must be an email address'],
      ['email', { ...valid, email: undefined }, 'is required'],
      ['phone', { ...valid, phone: '030 123456' }, 'must be an E.164 phone number such as +14155550123'],
      ['phone', { ...valid, phone: '+0123456789' }, 'must be an E.164 phone number such as +14155550123'],
      ['phone', { ...valid, phone: undefined }, 'is required'],
      ['password', { ...valid, password: 'short' }, 'must be at least 8 characters'],
      ['password', { ...valid, password: 12345678 }, 'must be a string'],
      ['name', { ...valid, name: '' }, 'must be longer than or equal to 1 characters'],
      ['role', { ...valid, role: 'ADMIN' }, 'is not an allowed field'],
    ])('register: %s problem gives 400 VALIDATION_FAILED', async (field, body, problem) => {
      const res = await request(api.url, 'POST', '/auth/register', { body });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED', details: [{ field, problem }] });
    });

    it('login: missing fields', async () => {
      const res = await request(api.url, 'POST', '/auth/login', { body: {} });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        code: 'VALIDATION_FAILED',
        details: [
          { field: 'email', problem: 'is required' },
          { field: 'password', problem: 'is required' },
        ],
      });
    });

    it('a JSON body that is not an object is refused, not a 500', async () => {
      for (const raw of ['[]', '"text"', '42', 'null']) {
        const res = await request(api.url, 'POST', '/auth/register', {
          raw,
          headers: { 'content-type': 'application/json' },
        });
        expect([res.status, raw]).toEqual([400, raw]);
      }
    });

    it('a wrong content type is 415 UNSUPPORTED_MEDIA_TYPE', async () => {
      const res = await request(api.url, 'POST', '/auth/login', {
        raw: '<email>a</email>',
        headers: { 'content-type': 'application/xml' },
      });
      expect(res.status).toBe(415);
      expect(res.body).toMatchObject({ statusCode: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
    });

    it('malformed JSON is 400 MALFORMED_BODY', async () => {
      const res = await request(api.url, 'POST', '/auth/login', {
        raw: '{"email":',
        headers: { 'content-type': 'application/json' },
      });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'MALFORMED_BODY' });
    });
  });
});
