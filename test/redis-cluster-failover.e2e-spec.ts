import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedisClient } from '../src/infra/redis/redis.module.js';
import { OwnRedisCluster } from './support/redis-cluster.js';
import { waitFor } from './support/wait-for.js';

/**
 * A Cluster client made as the app makes them (createRedisClient: BullMQ's
 * connection and our own), through a master failover. BullMQ's worker resets
 * its blocking connection (disconnect, then awaits connect()) when a blocking
 * read outlives its watchdog, which a failover causes; a connect() that never
 * settles left the worker's fetch loop parked for good: the orders queue,
 * and the sweeper scheduled on it, stopped (the cluster e2e's master-killed
 * case, tickets QUEUED for minutes).
 */
describe('a Cluster client through a master failover', () => {
  const cluster = new OwnRedisCluster(3, 1, 2000);

  beforeAll(() => cluster.start(), 60_000);
  afterAll(() => cluster.dispose());

  it('connect() while the cluster is failing settles, and the client serves the slot from the promoted replica', async () => {
    const client = createRedisClient(
      { REDIS_URL: '', REDIS_CLUSTER_NODES: cluster.seeds, REDIS_USERNAME: '', REDIS_PASSWORD: '', REDIS_TLS: false },
      { maxRetriesPerRequest: null },
    );
    client.on('error', () => undefined);
    try {
      await client.set('{failover}:before', '1');
      const victim = await cluster.masterOf('{failover}');
      const witness = cluster.ports.find((p) => p !== victim)!;
      await cluster.kill(victim);
      await waitFor(
        'the cluster to mark itself failing',
        () => cluster.call(witness, 'CLUSTER', 'INFO').catch(() => ''),
        (info) => /cluster_state:fail/.test(info),
        15_000,
      );
      // What BullMQ's resetBlockedConnection does: disconnect, wait for 'end', connect again.
      const ended = new Promise((resolve) => client.once('end', resolve));
      client.disconnect();
      await ended;
      let outcome = 'pending';
      const connecting = client.connect().then(
        () => (outcome = 'connected'),
        (err: unknown) => (outcome = `rejected: ${String(err)}`),
      );
      await cluster.waitForFailover('{failover}', victim);
      // Bounded: before the fix the promise never settled (the client itself came back).
      await waitFor(
        'connect() to settle',
        () => Promise.resolve(outcome),
        (o) => o !== 'pending',
        10_000,
      ).catch(() => undefined);
      expect({ outcome, status: client.status }).toEqual({ outcome: 'connected', status: 'ready' });
      await connecting;
      await client.set('{failover}:after', '2');
      expect(await client.get('{failover}:after')).toBe('2');
    } finally {
      await client.quit().catch(() => client.disconnect());
    }
  }, 60_000);
});
