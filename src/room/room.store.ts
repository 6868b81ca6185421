import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { RedisConfig, RoomConfig } from '../infra/config/app-config.js';
import { RedisService, type RedisClient } from '../infra/redis/redis.module.js';
import { gateKeys } from '../gate/gate.keys.js';
import { roomKeyList, roomKeys } from './room.keys.js';
import { END_LUA, JOIN_LUA, LEAVE_LUA, POLL_LUA, SETTINGS_LUA, TICK_LUA, USE_LUA } from './room.scripts.js';
import type { RoomSale, RoomSettings } from './room-sale.js';

type Args = (string | number)[];
type PlaceReply = [string, string, string, string, string, string, string, string];
type TickReply = [string, number?, number?, number?, number?, number?, number?, string?, number?];

interface RoomCommands {
  roomJoin(...keysAndArgs: Args): Promise<PlaceReply>;
  roomPoll(...keysAndArgs: Args): Promise<PlaceReply>;
  roomLeave(...keysAndArgs: Args): Promise<number>;
  roomSettings(...keysAndArgs: Args): Promise<number>;
  roomUse(...keysAndArgs: Args): Promise<number>;
  roomEnd(...keysAndArgs: Args): Promise<number>;
  roomTick(...keysAndArgs: Args): Promise<TickReply>;
}
type RoomRedis = RedisClient & RoomCommands;

const KEY_COUNT = 9;

/** Where a shopper stands, as the room's scripts answer it (times: Redis clock, ms). */
export type Place =
  | { state: 'waiting'; ahead: number; prequeue: boolean; room: RoomNow }
  | { state: 'admitted'; issuedAt: number; expiresAt: number; room: RoomNow }
  | { state: 'buying'; until: number; room: RoomNow }
  | { state: 'none' | 'closed' | 'not_open' | 'full'; room: RoomNow };

/** The room as a script saw it. */
export interface RoomNow {
  now: number;
  waiting: number;
  /** Admissions per second measured while shoppers waited; 0 before any measurement. */
  measuredRate: number;
  /** The admitter's rate of its last turn; null before its first. */
  rateNow: number | null;
  soldOut: boolean;
}

export interface TickResult {
  status: 'OK' | 'HOLD' | 'LEASED';
  admitted: number;
  lapsed: number;
  gone: number;
  waiting: number;
  active: number;
  buying: number;
  measuredRate: number;
  /** Units the gate had left at the turn (-2: no gate). */
  remaining: number;
}

/** The room's counters and sizes, for operators. */
export interface RoomStats {
  waiting: number;
  shadowed: number;
  active: number;
  buying: number;
  measuredRate: number;
  rateNow: number | null;
  soldOut: boolean;
  counters: Record<string, number>;
}

/** A room's figures as operators see them (admin room stats, live view). */
export interface RoomFigures {
  /** Shoppers waiting in the queue. */
  waiting: number;
  /** Admitted, admission not used yet. */
  admitted: number;
  /** Bought with their admission, order not paid or cancelled yet. */
  buying: number;
  /** The admitter's rate of its last turn (configured, or chosen by the auto law); null before its first turn. */
  targetAdmitPerSecond: number | null;
  /** Admissions per second measured while shoppers waited (what estimates use). */
  measuredAdmitPerSecond: number;
  /** Estimated wait of the last in line, seconds (the measured rate, the target until measured). */
  estimatedWaitSeconds: number;
}

export function roomFigures(s: RoomStats): RoomFigures {
  const rate = s.measuredRate > 0 ? s.measuredRate : (s.rateNow ?? 0);
  return {
    waiting: s.waiting,
    admitted: s.active,
    buying: s.buying,
    targetAdmitPerSecond: s.rateNow,
    measuredAdmitPerSecond: Math.round(s.measuredRate * 10) / 10,
    estimatedWaitSeconds: rate > 0 ? Math.ceil(s.waiting / rate) : 0,
  };
}

/**
 * The waiting room's state in Redis: one script call per operation (see
 * room.scripts.ts), each on the sale's slot.
 */
@Injectable()
export class RoomStore {
  readonly redis: RoomRedis;
  private readonly prefix: string;
  /** The keys and settings (ARGV 1-9) of each sale object the room is called with, built once per object. */
  private readonly heads = new WeakMap<RoomSettings, Args>();

  constructor(
    @Inject(RedisService) redis: RedisService,
    @Inject(RedisConfig) config: RedisConfig,
    @Inject(RoomConfig) private readonly rooms: RoomConfig,
  ) {
    this.prefix = config.REDIS_KEY_PREFIX;
    const client = redis.client;
    if (!('roomJoin' in client)) {
      client.defineCommand('roomJoin', { numberOfKeys: KEY_COUNT, lua: JOIN_LUA });
      client.defineCommand('roomPoll', { numberOfKeys: KEY_COUNT, lua: POLL_LUA });
      client.defineCommand('roomLeave', { numberOfKeys: KEY_COUNT, lua: LEAVE_LUA });
      client.defineCommand('roomSettings', { numberOfKeys: 1, lua: SETTINGS_LUA });
      client.defineCommand('roomUse', { numberOfKeys: KEY_COUNT, lua: USE_LUA });
      client.defineCommand('roomEnd', { numberOfKeys: KEY_COUNT, lua: END_LUA });
      client.defineCommand('roomTick', { numberOfKeys: KEY_COUNT + 1, lua: TICK_LUA });
    }
    this.redis = client as RoomRedis;
  }

  /** Whether the connection to Redis is up. */
  get connected(): boolean {
    return this.redis.status === 'ready';
  }

  keys(saleId: string): string[] {
    return roomKeyList(roomKeys(this.prefix, saleId));
  }

  async join(sale: RoomSale, userId: string, seenMs: number, shadow = false): Promise<Place> {
    return toPlace(await this.redis.roomJoin(...this.head(sale), userId, uniformDraw(), seenMs, shadow ? 1 : 0));
  }

  async poll(sale: RoomSale, userId: string, seenMs: number): Promise<Place> {
    return toPlace(await this.redis.roomPoll(...this.head(sale), userId, seenMs));
  }

  /**
   * Writes the sale's room settings now (when newer than those stored): an
   * admin's change, e.g. a pause, holds from its answer on, whatever older
   * copies of the sale the admitters and API copies still hold.
   */
  async configure(sale: RoomSettings): Promise<void> {
    await this.redis.roomSettings(this.keys(sale.id)[0]!, ...this.settings(sale));
  }

  async leave(saleId: string, userId: string): Promise<boolean> {
    return (await this.redis.roomLeave(...this.keys(saleId), userId)) === 1;
  }

  /** The admission bought: the shopper counts as active until their payment window ends (or their order does). */
  async used(saleId: string, userId: string, paymentWindowMs: number): Promise<void> {
    await this.redis.roomUse(...this.keys(saleId), userId, paymentWindowMs);
  }

  /** The shopper's turn is over: their slot frees now. */
  async ended(saleId: string, userId: string): Promise<boolean> {
    return (await this.redis.roomEnd(...this.keys(saleId), userId)) === 1;
  }

  async tick(
    sale: RoomSale,
    turn: {
      owner: string;
      remaining: number | null | 'gate';
      rate: number;
      maxPerTurn: number;
      /** Extra silence (ms) before a waiter counts as gone: the seconds in which polls were shed (ShedGrace). */
      graceMs?: number;
    },
  ): Promise<TickResult> {
    const [status, admitted, lapsed, gone, waiting, active, buying, mrate, remaining] = await this.redis.roomTick(
      ...this.keys(sale.id),
      gateKeys(this.prefix, sale.id).state,
      ...this.settings(sale),
      turn.owner,
      this.rooms.ROOM_LEASE_MS,
      turn.remaining === 'gate' ? -3 : (turn.remaining ?? -2),
      turn.maxPerTurn,
      turn.rate,
      Math.max(0, Math.round(turn.graceMs ?? 0)),
    );
    return {
      status: status as TickResult['status'],
      admitted: admitted ?? 0,
      lapsed: lapsed ?? 0,
      gone: gone ?? 0,
      waiting: waiting ?? 0,
      active: active ?? 0,
      buying: buying ?? 0,
      measuredRate: Number(mrate ?? 0),
      remaining: remaining ?? -2,
    };
  }

  async stats(saleId: string): Promise<RoomStats> {
    const k = roomKeys(this.prefix, saleId);
    const [waiting, shadowed, active, buying, cfg, counters] = await Promise.all([
      this.redis.zcard(k.queue),
      this.redis.zcard(k.shadow),
      this.redis.zcard(k.active),
      this.redis.zcard(k.buying),
      this.redis.hmget(k.cfg, 'mrate', 'rateNow', 'soldOut'),
      this.redis.hgetall(k.stats),
    ]);
    return {
      waiting,
      shadowed,
      active,
      buying,
      measuredRate: Number(cfg[0] ?? 0),
      rateNow: cfg[1] ? Number(cfg[1]) : null,
      soldOut: cfg[2] === '1',
      counters: Object.fromEntries(Object.entries(counters).map(([name, n]) => [name, Number(n)])),
    };
  }

  /** Deletes a room (its sale ended a while ago). */
  async remove(saleId: string): Promise<void> {
    await this.redis.del(...this.keys(saleId));
  }

  /** The room's keys, then ARGV 1-9 (settings), for a sale (kept per sale object: polls and joins send the same). */
  private head(sale: RoomSettings): Args {
    let head = this.heads.get(sale);
    if (!head) {
      head = [...this.keys(sale.id), ...this.settings(sale)];
      this.heads.set(sale, head);
    }
    return head;
  }

  /** ARGV 1-9 of the scripts that keep the room's settings in step with the sale (see SETTINGS in room.scripts.ts). */
  private settings(sale: RoomSettings): Args {
    const room = sale.room;
    return [
      sale.version,
      room.admitPerSecond === 'auto' ? 0 : room.admitPerSecond,
      room.maxActive,
      room.claimSeconds * 1000,
      sale.startsAt,
      sale.endsAt,
      room.prequeueOpensAt === null
        ? sale.startsAt - this.rooms.ROOM_PREQUEUE_LEAD_SECONDS * 1000
        : Date.parse(room.prequeueOpensAt),
      room.maxQueue ?? this.rooms.ROOM_MAX_QUEUE,
      room.paused ? 1 : 0,
    ];
  }
}

/** A uniform draw in [0, 1) with 52 random bits, as a string Redis parses exactly. */
export function uniformDraw(): string {
  const bytes = randomBytes(7);
  let n = 0;
  for (let i = 0; i < 7; i++) n = n * 256 + bytes[i]!;
  return String((n % 2 ** 52) / 2 ** 52);
}

function toPlace([state, a, b, waiting, mrate, now, soldOut, rateNow]: PlaceReply): Place {
  const room: RoomNow = {
    now: Number(now),
    waiting: Number(waiting),
    measuredRate: Number(mrate),
    rateNow: rateNow === '' ? null : Number(rateNow),
    soldOut: soldOut === '1',
  };
  switch (state) {
    case 'waiting':
      return { state, ahead: Number(a), prequeue: Number(b) < 1, room };
    case 'admitted':
      return { state, issuedAt: Number(a), expiresAt: Number(b), room };
    case 'buying':
      return { state, until: Number(b), room };
    case 'CLOSED':
      return { state: 'closed', room };
    case 'NOT_OPEN':
      return { state: 'not_open', room };
    case 'FULL':
      return { state: 'full', room };
    default:
      return { state: 'none', room };
  }
}
