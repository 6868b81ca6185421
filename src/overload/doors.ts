import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { ulid } from 'ulid';
import { RedisConfig } from '../infra/config/app-config.js';
import { RedisService } from '../infra/redis/redis.module.js';
import { OverloadDoor } from './door.js';

/** What one API copy publishes about its door, once a second. */
export interface DoorState {
  /** The copy (a random id per process). */
  copy: string;
  /** When it was published (ms since the epoch). */
  at: number;
  limit: number;
  inFlight: number;
  /** Of them, purchases (and polls taken as purchases): what the limit counts for a purchase. */
  inFlightBuy: number;
  pressure: number;
  overloaded: boolean;
  loopDelayMs: number;
  elu: number;
  /** p99 time in the API of the purchases finished since the previous state (ms; 0: none). */
  purchaseP99Ms: number;
  /** Requests shed per second since the previous state (all classes). */
  shedPerSecond: number;
  /** Purchases (class buy) shed per second since the previous state. */
  purchasesShedPerSecond: number;
  /** Purchases let through per second since the previous state. */
  purchasesPerSecond: number;
  /**
   * Waiting-room polls shed per second since the previous state: while a copy
   * sheds polls, the room's admitter does not count that time as the waiters'
   * silence (room/shed-grace.ts). Absent from copies older than this field.
   */
  pollsShedPerSecond?: number;
}

const PUBLISH_MS = 1000;
/** A state older than this is of a copy that stopped (it is dropped when read). */
export const DOOR_STALE_MS = 5000;

export function doorsKey(prefix: string): string {
  return `${prefix}:overload:doors`;
}

/**
 * Publishes this copy's door state into one Redis hash (field = the copy),
 * so that the waiting room's admitter can read every copy's.
 */
@Injectable()
export class DoorsPublisher implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Overload');
  private readonly copy = ulid();
  private readonly key: string;
  private timer?: NodeJS.Timeout;
  private last = { at: Date.now(), shed: 0, purchasesShed: 0, purchases: 0, pollsShed: 0 };
  private warned = false;

  constructor(
    @Inject(OverloadDoor) private readonly door: OverloadDoor,
    @Inject(RedisService) private readonly redis: RedisService,
    @Inject(RedisConfig) config: RedisConfig,
  ) {
    this.key = doorsKey(config.REDIS_KEY_PREFIX);
  }

  onModuleInit(): void {
    this.timer = setInterval(() => void this.publish(), PUBLISH_MS).unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.redis.client.hdel(this.key, this.copy).catch(() => undefined);
  }

  /** This copy's state now (rates since the previous call). */
  state(now = Date.now()): DoorState {
    const limiter = this.door.limiter;
    let shed = 0;
    for (const reasons of Object.values(limiter.shed)) shed += reasons.pressure + reasons.limit;
    const purchases = limiter.admitted.buy;
    const purchasesShed = limiter.shed.buy.pressure + limiter.shed.buy.limit;
    const seconds = Math.max(0.001, (now - this.last.at) / 1000);
    const state: DoorState = {
      copy: this.copy,
      at: now,
      limit: limiter.limit,
      inFlight: limiter.inFlight,
      inFlightBuy: limiter.inFlightBuy,
      pressure: limiter.pressure,
      overloaded: limiter.overloaded,
      loopDelayMs: this.door.loopDelayMs,
      elu: this.door.elu,
      purchaseP99Ms: limiter.takeBuyP99(),
      shedPerSecond: (shed - this.last.shed) / seconds,
      purchasesShedPerSecond: (purchasesShed - this.last.purchasesShed) / seconds,
      purchasesPerSecond: (purchases - this.last.purchases) / seconds,
      pollsShedPerSecond: (this.door.shedPolls - this.last.pollsShed) / seconds,
    };
    this.last = { at: now, shed, purchasesShed, purchases, pollsShed: this.door.shedPolls };
    return state;
  }

  async publish(): Promise<void> {
    try {
      await this.redis.client.hset(this.key, this.copy, JSON.stringify(this.state()));
      this.warned = false;
    } catch (err) {
      if (!this.warned) this.logger.warn(`door state not published: ${String(err)}`);
      this.warned = true;
    }
  }
}

/** Reads the door state of every live API copy (the waiting room's admitter uses it). */
@Injectable()
export class DoorsReader {
  private readonly key: string;

  constructor(
    @Inject(RedisService) private readonly redis: RedisService,
    @Inject(RedisConfig) config: RedisConfig,
  ) {
    this.key = doorsKey(config.REDIS_KEY_PREFIX);
  }

  /** The fresh states; stale ones (copies that stopped) are removed. */
  async read(now = Date.now()): Promise<DoorState[]> {
    const all = await this.redis.client.hgetall(this.key);
    const fresh: DoorState[] = [];
    const stale: string[] = [];
    for (const [copy, json] of Object.entries(all)) {
      const state = parseState(json);
      if (state && now - state.at <= DOOR_STALE_MS) fresh.push(state);
      else stale.push(copy);
    }
    if (stale.length) await this.redis.client.hdel(this.key, ...stale).catch(() => undefined);
    return fresh;
  }
}

function parseState(json: string): DoorState | undefined {
  try {
    const state = JSON.parse(json) as DoorState;
    return typeof state.at === 'number' && typeof state.limit === 'number' ? state : undefined;
  } catch {
    return undefined;
  }
}
