import { Inject, Injectable } from '@nestjs/common';
import { RedisConfig } from '../infra/config/app-config.js';
import { RedisService, type RedisClient } from '../infra/redis/redis.module.js';
import type { AntiBotMode } from '../sales/anti-bot-settings.js';
import { botsKeys } from './bots.keys.js';
import { CONTACT_LUA, HIT_LUA, JUDGED_LUA } from './bots.scripts.js';
import type { Tier } from './challenge.js';
import type { ClientNetwork } from './network.js';
import { REASONS, type Reason, type Signals, type Verdict } from './risk-rules.js';

type Args = (string | number)[];
interface BotsCommands {
  botsContact(...keysAndArgs: Args): Promise<[number, number?, number?, number?, number?, string?]>;
  botsJudged(...keysAndArgs: Args): Promise<number>;
  botsHit(key: string, windowMs: number): Promise<[number, number]>;
}
type BotsRedis = RedisClient & BotsCommands;

/** Keys of a sale stay a day past its end. */
const AFTER_END_MS = 86_400_000;

/** A verdict as recorded for an identity (and the mode it was given in). */
export interface Recorded {
  mode: AntiBotMode;
  verdict: Verdict;
  reason: Reason | null;
  tier: Tier;
}

export interface Contact {
  saleId: string;
  userId: string;
  /** When the sale ends (ms): the keys live a day longer. */
  endsAt: number;
  client: ClientNetwork | null;
  deviceId: string | null;
  /** A solved challenge to guard against replay (its salt and expiry), or none (a challenge being asked for). */
  proof: { salt: string; expiresAt: number } | null;
  burstWindowMs: number;
  now: number;
}

export type Contacted =
  { used: true } | { used: false; signals: Omit<Signals, 'accountCreatedAt'>; recorded: Recorded | null };

/** Counters of a sale's screen: identities shadowed and refused by reason, and what `log` mode would have done. */
export interface BotCounts {
  shadowed: Partial<Record<Reason, number>>;
  refused: Partial<Record<Reason, number>>;
  logged: { shadow: Partial<Record<Reason, number>>; refuse: Partial<Record<Reason, number>> };
}

function parseRecorded(value: string | undefined): Recorded | null {
  const [mode, verdict, reason, tier] = (value ?? '').split(':');
  if (!mode || !verdict) return null;
  return {
    mode: mode as AntiBotMode,
    verdict: verdict as Verdict,
    reason: REASONS.includes(reason as Reason) ? (reason as Reason) : null,
    tier: (Number(tier) || 0) as Tier,
  };
}

/** The anti-bot screen's state in Redis: one script call per contact, one more to record a new verdict. */
@Injectable()
export class BotsStore {
  readonly redis: BotsRedis;
  private readonly prefix: string;

  constructor(@Inject(RedisService) redis: RedisService, @Inject(RedisConfig) config: RedisConfig) {
    this.prefix = config.REDIS_KEY_PREFIX;
    const client = redis.client;
    if (!('botsContact' in client)) {
      client.defineCommand('botsContact', { numberOfKeys: 6, lua: CONTACT_LUA });
      client.defineCommand('botsJudged', { numberOfKeys: 2, lua: JUDGED_LUA });
      client.defineCommand('botsHit', { numberOfKeys: 1, lua: HIT_LUA });
    }
    this.redis = client as BotsRedis;
  }

  /** Notes an identity at the door: its ordinals on its address, network and device, and the replay guard of its proof. */
  async contact(c: Contact): Promise<Contacted> {
    const k = botsKeys(this.prefix, c.saleId);
    const address = c.client?.address ?? '';
    const reply = await this.redis.botsContact(
      k.address(address),
      k.network(c.client?.network ?? ''),
      k.device(c.deviceId ?? ''),
      k.burst(address, Math.floor(c.now / c.burstWindowMs)),
      k.proof(c.proof?.salt ?? ''),
      k.judged,
      c.userId,
      this.life(c.endsAt, c.now),
      c.client ? 1 : 0,
      c.deviceId ? 1 : 0,
      c.proof ? Math.max(1, c.proof.expiresAt - c.now) : 0,
      c.burstWindowMs,
    );
    if (reply[0] === -1) return { used: true };
    const known = (n: number | undefined): number | null => (n ? n : null);
    return {
      used: false,
      signals: {
        addressOrdinal: known(reply[1]),
        burst: known(reply[2]),
        networkOrdinal: known(reply[3]),
        deviceOrdinal: known(reply[4]),
      },
      recorded: parseRecorded(reply[5]),
    };
  }

  /** Records an identity's verdict, counting it under `counter` (none: not counted). */
  async record(
    saleId: string,
    userId: string,
    r: Recorded,
    options: { counter: string | null; endsAt: number; now: number },
  ): Promise<void> {
    const k = botsKeys(this.prefix, saleId);
    await this.redis.botsJudged(
      k.judged,
      k.stats,
      userId,
      `${r.mode}:${r.verdict}:${r.reason ?? ''}:${r.tier}`,
      options.counter ?? '',
      this.life(options.endsAt, options.now),
    );
  }

  /** One challenge asked from this address: the count in the current window and the ms left of it. */
  hit(address: string, windowMs: number): Promise<[number, number]> {
    return this.redis.botsHit(`${this.prefix}:bots:challenges:${address}`, windowMs);
  }

  async counts(saleId: string): Promise<BotCounts> {
    const raw = await this.redis.hgetall(botsKeys(this.prefix, saleId).stats);
    const counts: BotCounts = { shadowed: {}, refused: {}, logged: { shadow: {}, refuse: {} } };
    for (const [field, value] of Object.entries(raw)) {
      const parts = field.split(':');
      const logged = parts[0] === 'log';
      const [verdict, reason] = logged ? parts.slice(1) : parts;
      if (!REASONS.includes(reason as Reason)) continue;
      const n = Number(value);
      if (verdict === 'shadow') (logged ? counts.logged.shadow : counts.shadowed)[reason as Reason] = n;
      if (verdict === 'refuse') (logged ? counts.logged.refuse : counts.refused)[reason as Reason] = n;
    }
    return counts;
  }

  private life(endsAt: number, now: number): number {
    return Math.max(endsAt - now, 0) + AFTER_END_MS;
  }
}
