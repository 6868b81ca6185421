import { beforeEach, describe, expect, it, jest } from '@jest/globals';
import { QueueService } from '../infra/queues/queues.module.js';
import { UNTIL_DONE_ATTEMPTS } from '../infra/queues/queues.js';
import type { EventBatch } from './event-batch.js';
import { RedisService } from '../infra/redis/redis.module.js';
import { newTestService, type Mocked } from '../testing/new-test-service.js';
import { OutboxRelay } from './outbox-relay.js';
import { OutboxRepository, type OutboxRow } from './outbox.repository.js';

type Added = { name: string; data: EventBatch; opts: { jobId: string; attempts: number } };

/** The relay on its own: which jobs it makes of outbox rows (Postgres and BullMQ replaced). */
describe('OutboxRelay', () => {
  let relay: OutboxRelay;
  let outbox: Mocked<OutboxRepository>;
  let added: Map<string, Added[]>;
  let set: jest.Mock<(...args: unknown[]) => Promise<string | null>>;
  let published: boolean;

  beforeEach(() => {
    set = jest.fn(async () => 'OK');
    const t = newTestService(OutboxRelay, {
      env: { OUTBOX_REPLAY_SECONDS: '120' },
      use: [[RedisService, { client: { set } }]], // the relay-epoch markers
    });
    relay = t.sut;
    outbox = t.mock(OutboxRepository);
    added = new Map();
    published = false;
    const queues = t.mock(QueueService);
    queues.relay.mockImplementation(async (name, jobs) => {
      added.set(name, [...(added.get(name) ?? []), ...(jobs as Added[])]);
    });
    queues.queue.mockImplementation((name) => ({ toKey: (key: string) => `q:${name}:${key}` }) as never);
  });

  function rows(list: OutboxRow[]): void {
    outbox.publishPending.mockImplementation(async (_limit, publish) => {
      await publish(list);
      published = true;
      return list.length;
    });
  }

  it('one job per consumer queue and event type, rows in order, job id = first and last row', async () => {
    rows([
      { id: '01A', type: 'order.placed', payload: [{ orderId: 'o1' }, { orderId: 'o2' }] },
      { id: '01B', type: 'order.cancelled', payload: [{ orderId: 'o3' }] },
      { id: '01C', type: 'order.placed', payload: [{ orderId: 'o4' }] },
    ]);
    expect(await relay.relayOnce()).toBe(3);
    expect(published).toBe(true);
    const inventory = added.get('inventory')!;
    expect(inventory.map((j) => [j.name, j.opts.jobId, j.data.rows.map((r) => r.eventId)])).toEqual([
      ['order.placed', '01A-01C', ['01A', '01C']],
      ['order.cancelled', '01B', ['01B']],
    ]);
    expect(inventory[0]!.data.rows[0]!.payloads).toEqual([{ orderId: 'o1' }, { orderId: 'o2' }]);
    expect(inventory.every((j) => j.opts.attempts === UNTIL_DONE_ATTEMPTS)).toBe(true);
    // order.cancelled also goes to notifications; order.placed does not.
    expect(added.get('notifications')!.map((j) => j.name)).toEqual(['order.cancelled']);
  });

  it('a row written before batching (one payload object) is relayed as a row of one event', async () => {
    rows([{ id: '01D', type: 'order.paid', payload: { orderId: 'o5' } }]);
    await relay.relayOnce();
    expect(added.get('notifications')![0]!.data.rows).toEqual([{ eventId: '01D', payloads: [{ orderId: 'o5' }] }]);
  });

  it('a job holds at most 2000 events, and never splits a row', async () => {
    const big = (id: string, n: number): OutboxRow => ({
      id,
      type: 'order.placed',
      payload: Array.from({ length: n }, (_, i) => ({ orderId: `${id}-${i}` })),
    });
    rows([big('01E', 1500), big('01F', 800), big('01G', 2500), big('01H', 10)]);
    await relay.relayOnce();
    expect(added.get('inventory')!.map((j) => j.opts.jobId)).toEqual(['01E', '01F', '01G', '01H']);
  });

  it('nothing to relay: no job', async () => {
    outbox.publishPending.mockResolvedValue(0);
    expect(await relay.relayOnce()).toBe(0);
    expect(added.size).toBe(0);
  });

  it('a consumer queue that lost its data gets the recent rows of its event types again', async () => {
    set.mockImplementation(async (key) => (key === 'q:orders:relay-epoch' ? 'OK' : null));
    outbox.unpublishRecent.mockResolvedValue(4);
    expect(await relay.replayLostQueues()).toBe(4);
    expect(outbox.unpublishRecent).toHaveBeenCalledTimes(1);
    expect(outbox.unpublishRecent).toHaveBeenCalledWith(
      ['inventory.reserved', 'inventory.rejected', 'inventory.returned'],
      120,
    );
  });
});
