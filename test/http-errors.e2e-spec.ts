import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestDatabase, testConfig, type TestDatabase } from './support/env.js';
import { request, startApi, type RunningApi } from './support/http.js';

describe('HTTP errors', () => {
  let db: TestDatabase;
  let api: RunningApi;

  beforeAll(async () => {
    db = await createTestDatabase('httperr', false);
    api = await startApi(testConfig(db.url, { BODY_LIMIT_BYTES: '2048' }));
  });

  afterAll(async () => {
    await api.close();
    await db.drop();
  });

  it('answers an unknown route with 404 NOT_FOUND in the error shape', async () => {
    const res = await request(api.url, 'GET', '/nowhere');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ statusCode: 404, code: 'NOT_FOUND', message: expect.any(String) });
  });

  it('answers malformed JSON with 400 MALFORMED_BODY', async () => {
    const res = await request(api.url, 'POST', '/health', {
      raw: '{"a":',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ statusCode: 400, code: 'MALFORMED_BODY' });
  });

  it('answers an oversized body with 413 PAYLOAD_TOO_LARGE', async () => {
    const res = await request(api.url, 'POST', '/health', { body: { pad: 'x'.repeat(4096) } });
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ statusCode: 413, code: 'PAYLOAD_TOO_LARGE' });
  });
});
