import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect } from 'node:net';
import { Redis } from 'ioredis';
import type { AppConfig } from '../src/infra/config/app-config.js';
import { OpenStreams } from '../src/orders/open-streams.js';
import { OrderEventsHub } from '../src/orders/order-events.hub.js';
import { buy, createActiveSale } from './support/buy.js';
import { startFixture, type ApiFixture } from './support/fixture.js';
import { waitFor } from './support/wait-for.js';
import { startApi, type RunningApi } from './support/http.js';
import type { TestUser } from './support/users.js';

/**
 * A client that asks for the stream over a raw socket and hangs up `after`
 * ms later, or once the first bytes of the answer arrived; resolves with
 * whether any byte of the answer had arrived by then.
 */
function hangUp(api: RunningApi, path: string, token: string, after: number | 'first-byte'): Promise<boolean> {
  const { port } = new URL(api.url);
  return new Promise((resolve) => {
    let answered = false;
    const socket = connect(Number(port), '127.0.0.1', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n\r\n`);
      if (after !== 'first-byte') setTimeout(() => socket.destroy(), after);
    });
    socket.on('data', () => {
      answered = true;
      if (after === 'first-byte') socket.destroy();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(answered));
  });
}

/** An open stream, read until its first event; `close()` hangs up. */
async function openStream(api: RunningApi, orderId: string, token: string) {
  const abort = new AbortController();
  const res = await fetch(`${api.url}/orders/${orderId}/events`, {
    headers: { authorization: `Bearer ${token}` },
    signal: abort.signal,
  });
  if (res.status === 200) {
    const reader = res.body!.getReader();
    await reader.read(); // the current status
  }
  return { res, close: () => abort.abort() };
}

describe('order status streams (SSE): nothing left behind, caps', () => {
  let fx: ApiFixture;
  let config: AppConfig;
  let api: RunningApi;
  let admin: TestUser;
  let users: TestUser[];
  let orders: string[];
  let redis: Redis;

  const subscribedChannels = async (): Promise<number> =>
    (await redis.pubsub('CHANNELS', `${config.REDIS_KEY_PREFIX}:order:*`)).length;

  beforeAll(async () => {
    fx = await startFixture('streams', {
      env: { SSE_MAX_STREAMS_PER_USER: '1000', SSE_MAX_STREAMS: '100000' },
      users: 4,
    });
    ({ config, api, admin, users } = fx);
    redis = new Redis(config.REDIS_URL);
    const sale = await createActiveSale(api.url, admin, { stock: 100 });
    orders = [];
    for (const u of users) orders.push((await buy(api.url, u, sale.id)).body.orderId!);
  });

  afterAll(async () => {
    redis.disconnect();
    await fx.close();
  });

  it('clients hanging up at any moment, set-up included, leave no channel, slot or timer behind', async () => {
    const streams = api.app.get(OpenStreams);
    const hub = api.app.get(OrderEventsHub);
    // 300 at once: a third hang up as soon as the request is out (before or during
    // set-up), a third a few ms later, a third once the stream answered.
    const shots = Array.from({ length: 300 }, (_, i) =>
      hangUp(
        api,
        `/orders/${orders[i % 4]}/events`,
        users[i % 4]!.token,
        i % 3 === 2 ? 'first-byte' : (i % 3) * (i % 40),
      ),
    );
    const answered = await Promise.all(shots);
    expect(answered.filter((a, i) => i % 3 === 2 && a)).toHaveLength(100);
    await waitFor(
      'every stream to let go',
      async () => ({ slots: streams.size, hub: hub.channelCount, redis: await subscribedChannels() }),
      (s) => s.slots === 0 && s.hub === 0 && s.redis === 0,
      15_000,
    );
    // Still works afterwards: a new stream gets the current status.
    const again = await openStream(api, orders[0]!, users[0]!.token);
    expect(again.res.status).toBe(200);
    expect(await subscribedChannels()).toBe(1);
    again.close();
    await waitFor('the last stream to let go', subscribedChannels, (n) => n === 0);
  });

  it('two streams of one order share one subscription; it ends when the last one leaves', async () => {
    const hub = api.app.get(OrderEventsHub);
    const a = await openStream(api, orders[1]!, users[1]!.token);
    const b = await openStream(api, orders[1]!, users[1]!.token);
    expect([a.res.status, b.res.status, hub.channelCount, await subscribedChannels()]).toEqual([200, 200, 1, 1]);
    // A stream written straight to the socket carries the security headers and the request id too.
    expect(a.res.headers.get('content-type')).toBe('text/event-stream');
    expect(a.res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(a.res.headers.get('x-request-id')).toBeTruthy();
    a.close();
    await waitFor(
      'one stream left',
      async () => api.app.get(OpenStreams).size,
      (n) => n === 1,
    );
    expect(await subscribedChannels()).toBe(1);
    b.close();
    await waitFor('no stream left', subscribedChannels, (n) => n === 0);
    expect(hub.channelCount).toBe(0);
  });

  it('caps: per user 429 TOO_MANY_STREAMS, per process 503 STREAMS_BUSY with Retry-After; a closed stream frees its slot', async () => {
    const capped = await startApi({ ...config, SSE_MAX_STREAMS_PER_USER: 2, SSE_MAX_STREAMS: 3 });
    try {
      const streams = capped.app.get(OpenStreams);
      const first = await openStream(capped, orders[0]!, users[0]!.token);
      const second = await openStream(capped, orders[0]!, users[0]!.token);
      const third = await openStream(capped, orders[0]!, users[0]!.token);
      expect([first.res.status, second.res.status, third.res.status]).toEqual([200, 200, 429]);
      expect(await third.res.json()).toMatchObject({ statusCode: 429, code: 'TOO_MANY_STREAMS' });

      const other = await openStream(capped, orders[1]!, users[1]!.token);
      expect(other.res.status).toBe(200);
      const busy = await openStream(capped, orders[2]!, users[2]!.token);
      expect(busy.res.status).toBe(503);
      expect(busy.res.headers.get('retry-after')).toBe(String(config.RETRY_AFTER_SECONDS));
      expect(await busy.res.json()).toMatchObject({ statusCode: 503, code: 'STREAMS_BUSY' });

      first.close();
      await waitFor(
        'a slot to free up',
        async () => streams.size,
        (n) => n === 2,
      );
      const now = await openStream(capped, orders[2]!, users[2]!.token);
      expect(now.res.status).toBe(200);
      for (const s of [second, other, now]) s.close();
      await waitFor(
        'every slot back',
        async () => streams.size,
        (n) => n === 0,
      );
    } finally {
      await capped.close();
    }
  });

  it('shutdown ends the open streams first, so the server closes at once', async () => {
    const second = await startApi(config);
    const res = await fetch(`${second.url}/orders/${orders[3]}/events`, {
      headers: { authorization: `Bearer ${users[3]!.token}` },
    });
    const reader = res.body!.getReader();
    await reader.read(); // the current status: the stream is open
    await second.close(); // would wait for the stream's 30-minute lifetime otherwise
    expect((await reader.read()).done).toBe(true);
    expect(second.app.get(OpenStreams).size).toBe(0);
  });

  it('a refused stream (404) takes no slot and no subscription', async () => {
    const res = await fetch(`${api.url}/orders/${orders[0]}/events`, {
      headers: { authorization: `Bearer ${users[1]!.token}` }, // not theirs
    });
    expect(res.status).toBe(404);
    expect(api.app.get(OpenStreams).size).toBe(0);
    expect(await subscribedChannels()).toBe(0);
  });
});
