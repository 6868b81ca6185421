import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { RedisConfig } from '../infra/config/app-config.js';
import { duplicateClient, RedisService, type RedisClient } from '../infra/redis/redis.module.js';
import { orderChannel, type StatusChange } from './order-status.js';

type Listener = (change: StatusChange) => void;

/** One order's channel: its listeners and the SUBSCRIBE they all wait for. */
interface Channel {
  listeners: Set<Listener>;
  subscribed: Promise<unknown>;
}

/**
 * One Redis subscriber per API process for the status streams its clients
 * watch: a channel per order, subscribed while someone listens, so a status
 * change made by any worker reaches the SSE client on any API copy. On a
 * Redis Cluster the channels are sharded (SSUBSCRIBE, one connection per
 * master that owns a watched channel's slot): a status message then costs
 * only its own master, not every node of the cluster.
 *
 * Bookkeeping: the first listener of a channel sends SUBSCRIBE and every later
 * one waits for that same reply, so nobody reads the order's current status
 * before the subscription is live. The last one to stop sends UNSUBSCRIBE and
 * forgets the channel; a listener that joins afterwards starts a new entry
 * (its SUBSCRIBE follows the UNSUBSCRIBE on the same connection, so Redis ends
 * subscribed). A failed SUBSCRIBE takes its listeners out again, so the map
 * never keeps a channel nobody is subscribed to.
 */
@Injectable()
export class OrderEventsHub implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('OrderEvents');
  private subscriber?: RedisClient;
  private readonly channels = new Map<string, Channel>();

  constructor(
    @Inject(RedisService) private readonly redis: RedisService,
    @Inject(RedisConfig) private readonly config: RedisConfig,
  ) {}

  onModuleInit(): void {
    this.subscriber = duplicateClient(this.redis.client, { shardedSubscribers: true });
    this.subscriber.on('error', () => undefined);
    const event = this.redis.isCluster ? 'smessage' : 'message';
    this.subscriber.on(event, (name: string, message: string) => this.deliver(name, message));
  }

  onApplicationShutdown(): void {
    this.subscriber?.disconnect();
  }

  /** Channels this process is subscribed to (or subscribing). */
  get channelCount(): number {
    return this.channels.size;
  }

  /** Resolves once subscribed; the returned function stops listening (calling it again does nothing). */
  async listen(orderId: string, listener: Listener): Promise<() => void> {
    const name = orderChannel(this.config.REDIS_KEY_PREFIX, orderId);
    let channel = this.channels.get(name);
    if (!channel) {
      const sub = this.subscriber!;
      channel = { listeners: new Set(), subscribed: this.redis.isCluster ? sub.ssubscribe(name) : sub.subscribe(name) };
      this.channels.set(name, channel);
    }
    const joined = channel;
    joined.listeners.add(listener);
    let stopped = false;
    const stop = (): void => {
      if (stopped) return;
      stopped = true;
      joined.listeners.delete(listener);
      if (joined.listeners.size === 0 && this.channels.get(name) === joined) {
        this.channels.delete(name);
        const sub = this.subscriber!;
        void (this.redis.isCluster ? sub.sunsubscribe(name) : sub.unsubscribe(name)).catch(() => undefined);
      }
    };
    try {
      await joined.subscribed;
    } catch (err) {
      stop();
      throw err;
    }
    return stop;
  }

  private deliver(name: string, message: string): void {
    const listeners = this.channels.get(name)?.listeners;
    if (!listeners) return;
    let change: StatusChange;
    try {
      change = JSON.parse(message) as StatusChange;
    } catch {
      this.logger.warn(`unreadable message on ${name}`);
      return;
    }
    for (const listener of listeners) {
      try {
        listener(change);
      } catch (err) {
        this.logger.warn(`status listener of ${name} failed: ${String(err)}`);
      }
    }
  }
}
