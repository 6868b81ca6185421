import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { AppConfig } from '../infra/config/app-config.js';
import { RedisService } from '../infra/redis/redis.module.js';
import { gateChannel } from '../gate/gate.keys.js';
import { GateService } from '../gate/gate.service.js';

/**
 * The API process's own knowledge that a sale is sold out, so the crowd that
 * arrives after the last unit is refused without a Redis round trip.
 *
 * Raised and cleared only by the gate's news channel: the gate publishes
 * `soldout:<id>` from the same Lua call that takes the last unit, and
 * `restock:<id>` from the call that gives units back, so every API copy sees
 * the two in the order they happened. Refusals answered here are counted
 * locally and added to the sale's stats once a second.
 */
@Injectable()
export class SoldOutFlags implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('SoldOutFlags');
  private readonly soldOut = new Set<string>();
  private counts = new Map<string, Map<string, number>>();
  private subscriber?: Redis;
  private flushTimer?: NodeJS.Timeout;

  constructor(
    @Inject(RedisService) private readonly redis: RedisService,
    @Inject(GateService) private readonly gate: GateService,
    @Inject(AppConfig) private readonly config: AppConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    this.subscriber = this.redis.client.duplicate();
    this.subscriber.on('error', () => undefined);
    // After a reconnect the news missed meanwhile is unknown: forget every flag.
    this.subscriber.on('ready', () => this.soldOut.clear());
    this.subscriber.on('message', (_channel: string, message: string) => this.onNews(message));
    await this.subscriber.subscribe(gateChannel(this.config.REDIS_KEY_PREFIX));
    this.flushTimer = setInterval(() => void this.flush(), 1000);
    this.flushTimer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.flushTimer);
    await this.flush();
    this.subscriber?.disconnect();
  }

  anySoldOut(): boolean {
    return this.soldOut.size > 0;
  }

  isSoldOut(saleId: string): boolean {
    return this.soldOut.has(saleId);
  }

  /** Counts a refusal answered without Redis. */
  count(saleId: string, code: string): void {
    let byCode = this.counts.get(saleId);
    if (!byCode) this.counts.set(saleId, (byCode = new Map()));
    byCode.set(code, (byCode.get(code) ?? 0) + 1);
  }

  private onNews(message: string): void {
    const [kind, saleId] = message.split(':');
    if (!saleId) return;
    if (kind === 'soldout') this.soldOut.add(saleId);
    else if (kind === 'restock') this.soldOut.delete(saleId);
  }

  private async flush(): Promise<void> {
    if (this.counts.size === 0) return;
    const counts = this.counts;
    this.counts = new Map();
    await this.gate.addCounts(counts).catch((err: unknown) => {
      this.logger.warn(`could not record refusal counts: ${String(err)}`);
    });
  }
}
