import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { orderChannel } from '../gate/gate.keys.js';
import { AppConfig } from '../infra/config/app-config.js';
import { duplicateClient, RedisService, type RedisClient } from '../infra/redis/redis.module.js';
import type { StatusChange } from './order-status.js';

type Listener = (change: StatusChange) => void;

/**
 * One Redis subscriber per API process for the status streams its clients
 * watch: a channel per order, subscribed while someone listens, so a status
 * change made by any worker reaches the SSE client on any API copy. On a
 * Redis Cluster the channels are sharded (SSUBSCRIBE, one connection per
 * master that owns a watched channel's slot): a status message then costs
 * only its own master, not every node of the cluster.
 */
@Injectable()
export class OrderEventsHub implements OnModuleInit, OnApplicationShutdown {
  private subscriber?: RedisClient;
  private readonly listeners = new Map<string, Set<Listener>>();

  constructor(
    @Inject(RedisService) private readonly redis: RedisService,
    @Inject(AppConfig) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.subscriber = duplicateClient(this.redis.client, { shardedSubscribers: true });
    this.subscriber.on('error', () => undefined);
    this.subscriber.on(this.redis.isCluster ? 'smessage' : 'message', (channel: string, message: string) => {
      for (const listener of this.listeners.get(channel) ?? []) listener(JSON.parse(message) as StatusChange);
    });
  }

  onApplicationShutdown(): void {
    this.subscriber?.disconnect();
  }

  /** Resolves once subscribed; the returned function stops listening. */
  async listen(orderId: string, listener: Listener): Promise<() => void> {
    const channel = orderChannel(this.config.REDIS_KEY_PREFIX, orderId);
    let set = this.listeners.get(channel);
    if (!set) {
      this.listeners.set(channel, (set = new Set()));
      await (this.redis.isCluster ? this.subscriber!.ssubscribe(channel) : this.subscriber!.subscribe(channel));
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(channel) === set) {
        this.listeners.delete(channel);
        const sub = this.subscriber!;
        void (this.redis.isCluster ? sub.sunsubscribe(channel) : sub.unsubscribe(channel)).catch(() => undefined);
      }
    };
  }
}
