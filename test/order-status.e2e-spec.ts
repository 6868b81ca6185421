import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Cluster } from 'ioredis';
import { RedisConfig, sliceOf, type AppConfig } from '../src/infra/config/app-config.js';
import { RedisService } from '../src/infra/redis/redis.module.js';
import { OrderEventsHub } from '../src/orders/order-events.hub.js';
import { OrderStatusPublisher, type StatusChange } from '../src/orders/order-status.js';
import { testConfig } from './support/env.js';
import { OwnRedisCluster } from './support/redis-cluster.js';
import { waitFor } from './support/wait-for.js';

/**
 * Status news goes only to the orders someone streams: a real hub listens on
 * a real Redis (a single node, then a cluster of three masters), the
 * publisher announces a batch of changes, and each watched order's listener
 * gets its change while no PUBLISH is sent for the others.
 */
async function publishesOnlyWatched(config: AppConfig): Promise<void> {
  const redisConfig = sliceOf(RedisConfig, config);
  const redis = new RedisService(redisConfig);
  const hubRedis = new RedisService(redisConfig);
  const hub = new OrderEventsHub(hubRedis, redisConfig);
  hub.onModuleInit();
  try {
    if (redis.client instanceof Cluster) {
      const cluster = redis.client;
      await waitFor(
        'the slot map',
        async () => (await cluster.ping(), cluster.nodes('master').length),
        (n) => n === 3,
      );
    }
    const publisher = new OrderStatusPublisher(redis, redisConfig);
    const ids = Array.from({ length: 40 }, (_, i) => `01JORDER${String(i).padStart(18, '0')}`);
    const watchedIds = ids.filter((_, i) => i % 8 === 0); // spread over the cluster's masters
    const got = new Map<string, StatusChange[]>();
    const stops = await Promise.all(
      watchedIds.map((id) => hub.listen(id, (change) => got.set(id, [...(got.get(id) ?? []), change]))),
    );
    const sent = jest.spyOn(redis.client, redis.isCluster ? 'spublish' : 'publish');
    await publisher.publish(ids.map((orderId) => ({ orderId, status: 'PENDING' })));
    await waitFor(
      'every watched order to hear',
      async () => got.size,
      (n) => n === watchedIds.length,
      10_000,
    );
    expect(sent).toHaveBeenCalledTimes(watchedIds.length);
    for (const id of watchedIds) expect(got.get(id)).toEqual([{ orderId: id, status: 'PENDING' }]);

    // Once nobody listens, nothing is published at all.
    for (const stop of stops) stop();
    await waitFor(
      'the hub to let go',
      async () => hub.channelCount,
      (n) => n === 0,
    );
    sent.mockClear();
    await waitFor(
      'the unsubscriptions to land',
      async () => {
        await publisher.publish(ids.map((orderId) => ({ orderId, status: 'AWAITING_PAYMENT' })));
        const calls = sent.mock.calls.length;
        sent.mockClear();
        return calls;
      },
      (calls) => calls === 0,
    );
  } finally {
    hub.onApplicationShutdown();
    await Promise.all([redis.onApplicationShutdown(), hubRedis.onApplicationShutdown()]);
  }
}

describe('order status news: only for watched orders', () => {
  it('on a single Redis', async () => {
    await publishesOnlyWatched(testConfig('postgresql://unused@127.0.0.1:1/unused'));
  });

  describe('on a Redis Cluster', () => {
    const cluster = new OwnRedisCluster(3);
    beforeAll(() => cluster.start(), 60_000);
    afterAll(() => cluster.dispose(), 30_000);

    it('asks each master about the channels of its slots', async () => {
      await publishesOnlyWatched(
        testConfig('postgresql://unused@127.0.0.1:1/unused', { REDIS_CLUSTER_NODES: cluster.seeds }),
      );
    }, 30_000);
  });
});
