import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ulid } from 'ulid';
import { buy, createActiveSale } from './support/buy.js';
import { startFixture, type ApiFixture } from './support/fixture.js';
import { request } from './support/http.js';
import { OwnRedis } from './support/redis-server.js';
import { waitFor } from './support/wait-for.js';

/**
 * Admissions lost with Redis's data: the API alone (no worker, so the
 * admitted tickets stay in Redis, never persisted), its own redis-server
 * killed and started again empty. The shoppers who held a 202 get 410
 * ORDER_LOST, on the order and on its status stream, instead of 404 forever.
 */
describe('orders lost with Redis: 410 ORDER_LOST to their shopper', () => {
  const redis = new OwnRedis();
  let fx: ApiFixture;

  beforeAll(async () => {
    await redis.start();
    fx = await startFixture('lost', { env: { REDIS_URL: redis.url }, users: 4 });
  });

  afterAll(async () => {
    await fx?.close();
    await redis.dispose();
  });

  it('answers 410 to the shopper (order and stream), 404 to others; orders admitted after the restart are unaffected', async () => {
    const { api, admin, users } = fx;
    const [alice, bob, carol] = users;
    const sale = await createActiveSale(api.url, admin, { stock: 10 });
    const before = await buy(api.url, alice!, sale.id);
    expect(before.status).toBe(202);
    const id = before.body.orderId!;
    expect((await request(api.url, 'GET', `/orders/${id}`, { token: alice!.token })).body).toMatchObject({
      status: 'QUEUED',
    });

    await redis.stop();
    await redis.start(); // empty: no save, no AOF
    await waitFor(
      'the API to reach the new Redis',
      () => request(api.url, 'GET', '/health').then((r) => r.status),
      (s) => s === 200,
    );

    const gone = await request(api.url, 'GET', `/orders/${id}`, { token: alice!.token });
    expect(gone.status).toBe(410);
    expect(gone.body).toEqual({
      statusCode: 410,
      code: 'ORDER_LOST',
      message: expect.stringMatching(/nothing was charged/),
    });
    const stream = await fetch(`${api.url}/orders/${id}/events`, {
      headers: { authorization: `Bearer ${alice!.token}` },
    });
    expect(stream.status).toBe(410);
    expect(await stream.json()).toMatchObject({ code: 'ORDER_LOST' });
    // Another shopper, an id that was never issued, a ULID of no one: 404 as ever.
    expect((await request(api.url, 'GET', `/orders/${id}`, { token: bob!.token })).status).toBe(404);
    expect(
      (await request(api.url, 'GET', `/orders/${ulid(Date.now() - 60_000)}`, { token: alice!.token })).status,
    ).toBe(404);

    // The gate rebuilt from Postgres (as the reconcile pass does): a purchase after the restart is QUEUED, not lost.
    const rebuilt = await request(api.url, 'POST', `/admin/sales/${sale.id}/reconcile?repair=true`, {
      token: admin.token,
    });
    expect(rebuilt.status).toBe(200);
    const after = await buy(api.url, carol!, sale.id);
    expect(after.status).toBe(202);
    expect(
      (await request(api.url, 'GET', `/orders/${after.body.orderId!}`, { token: carol!.token })).body,
    ).toMatchObject({ status: 'QUEUED' });
    // And the lost one stays lost (the epoch is recorded once per Redis instance).
    expect((await request(api.url, 'GET', `/orders/${id}`, { token: alice!.token })).status).toBe(410);
  });
});
