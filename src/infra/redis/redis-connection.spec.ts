import { describe, expect, it } from '@jest/globals';
import { type Redis } from 'ioredis';
import { createRedisClient, nodeConnection } from './redis.module.js';

const base = { REDIS_CLUSTER_NODES: '', REDIS_USERNAME: '', REDIS_PASSWORD: '', REDIS_TLS: false };

/** The options ioredis ends up with for REDIS_URL and the overrides (no connection is made). */
function optionsOf(settings: Partial<typeof base> & { REDIS_URL: string }): Redis['options'] {
  const client = createRedisClient({ ...base, ...settings }, { lazyConnect: true }) as Redis;
  client.disconnect();
  return client.options;
}

describe('the connection of a single Redis node', () => {
  it('is REDIS_URL as ioredis reads it: host, port, db, credentials, TLS from rediss://', () => {
    expect(optionsOf({ REDIS_URL: 'redis://cache.internal:6390/2' })).toMatchObject({
      host: 'cache.internal',
      port: 6390,
      db: 2,
    });
    const secure = optionsOf({ REDIS_URL: 'rediss://app:s%40cret@cache.internal' });
    expect(secure).toMatchObject({ host: 'cache.internal', username: 'app', password: 's@cret' });
    expect(secure.tls).toBeTruthy();
  });

  it('takes REDIS_USERNAME, REDIS_PASSWORD and REDIS_TLS over the URL', () => {
    const options = optionsOf({
      REDIS_URL: 'redis://old:old@cache.internal:6379',
      REDIS_USERNAME: 'new',
      REDIS_PASSWORD: 'p@ss:word',
      REDIS_TLS: true,
    });
    expect(options).toMatchObject({ username: 'new', password: 'p@ss:word', tls: {} });
  });

  it('is the same for BullMQ, with one retry strategy for every client', () => {
    const connection = nodeConnection({ ...base, REDIS_URL: 'redis://127.0.0.1:6379' });
    expect(connection).toMatchObject({ url: 'redis://127.0.0.1:6379' });
    // The first reconnect at once (a dropped connection to a live Redis), then backing off to 2 s.
    expect([1, 2, 5, 100].map(connection.retryStrategy)).toEqual([0, 200, 500, 2000]);
    expect(optionsOf({ REDIS_URL: 'redis://127.0.0.1:6379' }).retryStrategy).toBe(connection.retryStrategy);
  });
});
