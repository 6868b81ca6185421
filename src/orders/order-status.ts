import { Inject, Injectable, Logger } from '@nestjs/common';
import type { OrderStatus } from '../generated/prisma/client.js';
import { RedisConfig } from '../infra/config/app-config.js';
import { Cluster } from 'ioredis';
import { RedisService } from '../infra/redis/redis.module.js';
import { slotOf } from '../infra/redis/slots.js';

export interface StatusChange {
  orderId: string;
  status: OrderStatus;
  reason?: string | null;
}

/** Order of statuses on the way through; a stream never goes backwards. */
export const STATUS_RANK: Record<OrderStatus, number> = {
  QUEUED: 0,
  PENDING: 1,
  AWAITING_PAYMENT: 2,
  PAID: 3,
  CANCELLED: 3,
  FAILED: 3,
};

export const FINAL_STATUSES: readonly OrderStatus[] = ['PAID', 'CANCELLED', 'FAILED'];

/** Pub/sub channel of one order's status changes (not hash-tagged: sharded pub/sub spreads them over the cluster). */
export function orderChannel(prefix: string, orderId: string): string {
  return `${prefix}:order:${orderId}`;
}

/**
 * Announces status changes on each order's pub/sub channel (for the SSE
 * streams of any API copy), but only on the channels someone listens to: one
 * `PUBSUB NUMSUB` for the whole batch (on a cluster one `PUBSUB SHARDNUMSUB`
 * per master, with the channels whose slots it owns), then a `PUBLISH` per
 * watched order. In a spike almost no order is watched, so a batch of 500
 * changes costs Redis one command instead of 500.
 *
 * Nothing is missed: the count is taken after the change committed, and a
 * stream subscribes before it reads the order's current status (see
 * OrdersController.events). A listener the count did not see subscribed after
 * the commit, so its own read finds the new status.
 */
@Injectable()
export class OrderStatusPublisher {
  private readonly logger = new Logger('OrderStatus');

  constructor(
    @Inject(RedisService) private readonly redis: RedisService,
    @Inject(RedisConfig) private readonly config: RedisConfig,
  ) {}

  /**
   * Called after the change committed: a failure here is logged, never
   * thrown, so it cannot turn a done change into an error answer or a retry
   * (an SSE client then sees the new status on reconnect).
   */
  async publish(changes: StatusChange[]): Promise<void> {
    if (changes.length === 0) return;
    try {
      const channels = changes.map((change) => orderChannel(this.config.REDIS_KEY_PREFIX, change.orderId));
      const watched = await this.watched(channels);
      const client = this.redis.client;
      const sends: Promise<unknown>[] = [];
      // Sharded on a cluster: each message goes to its channel's master only (auto-pipelined per master).
      changes.forEach((change, i) => {
        const channel = channels[i]!;
        if (!watched.has(channel)) return;
        const message = JSON.stringify(change);
        sends.push(this.redis.isCluster ? client.spublish(channel, message) : client.publish(channel, message));
      });
      await Promise.all(sends);
    } catch (err) {
      this.logger.warn(`status of ${changes.length} order(s) not published: ${String(err)}`);
    }
  }

  /** The channels among these with at least one subscriber now. */
  private async watched(channels: string[]): Promise<Set<string>> {
    const client = this.redis.client;
    if (!(client instanceof Cluster)) return subscribed(await client.pubsub('NUMSUB', ...channels));
    // PUBSUB answers from the node asked only: ask each master about the channels of its slots.
    // A channel whose master is not known now (a failover under way) counts as watched: it is published.
    const found = new Set<string>();
    const byMaster = new Map<string, string[]>();
    for (const channel of channels) {
      const master = client.slots[slotOf(channel)]?.[0];
      const list = master === undefined ? undefined : byMaster.get(master);
      if (master === undefined) found.add(channel);
      else if (list) list.push(channel);
      else byMaster.set(master, [channel]);
    }
    if (byMaster.size === 0) return found;
    const masters = new Map(client.nodes('master').map((node) => [`${node.options.host}:${node.options.port}`, node]));
    const answers = await Promise.all(
      [...byMaster].map(async ([key, list]) => {
        const node = masters.get(key);
        return node ? subscribed(await node.pubsub('SHARDNUMSUB', ...list)) : new Set(list);
      }),
    );
    for (const answer of answers) for (const channel of answer) found.add(channel);
    return found;
  }
}

/** The channels with subscribers in a flat `[channel, count, channel, count, …]` answer. */
function subscribed(answer: unknown[]): Set<string> {
  const found = new Set<string>();
  for (let i = 0; i + 1 < answer.length; i += 2) if (Number(answer[i + 1]) > 0) found.add(String(answer[i]));
  return found;
}
