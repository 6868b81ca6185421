import { Inject, Injectable, Logger } from '@nestjs/common';
import type { OrderStatus } from '../generated/prisma/client.js';
import { RedisConfig } from '../infra/config/app-config.js';
import { RedisService } from '../infra/redis/redis.module.js';

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

/** Announces status changes on each order's pub/sub channel (for the SSE streams of any API copy). */
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
    const channel = (change: StatusChange): string => orderChannel(this.config.REDIS_KEY_PREFIX, change.orderId);
    let sent: Promise<unknown>;
    if (this.redis.isCluster) {
      // Sharded: each message goes to its channel's master only (one auto-pipeline per master).
      const client = this.redis.client;
      sent = Promise.all(changes.map((change) => client.spublish(channel(change), JSON.stringify(change))));
    } else {
      const pipeline = this.redis.client.pipeline();
      for (const change of changes) pipeline.publish(channel(change), JSON.stringify(change));
      sent = pipeline.exec();
    }
    await sent.catch((err: unknown) => {
      this.logger.warn(`status of ${changes.length} order(s) not published: ${String(err)}`);
    });
  }
}
