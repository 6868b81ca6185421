import { Inject, Injectable, Logger } from '@nestjs/common';
import { Cluster, type Redis } from 'ioredis';
import { GateConfig, RedisConfig } from '../infra/config/app-config.js';
import { slotOf } from '../infra/redis/slots.js';
import { GateLayout } from './gate-layout.js';
import { homeBucket, type GateKeys } from './gate.keys.js';
import type { Ticket } from './tickets.js';

export type AdmitCode =
  | 'OK'
  | 'REPLAY'
  | 'NOT_READY'
  | 'RATE_LIMITED'
  | 'SALE_NOT_ACTIVE'
  | 'LIMIT_EXCEEDED'
  | 'SOLD_OUT'
  | 'BUSY'
  | 'ADMISSION_REQUIRED'
  | 'ADMISSION_INVALID'
  | 'ADMISSION_USED';

/** A waiting room's admission, its signature already checked by the caller. */
export interface GateAdmissionPass {
  /** Names the admission in the gate's used set: "<userId>:<issuedMs>". */
  key: string;
  /** When the room issued it (Redis time, ms): one older than the gate is void. */
  issuedAt: number;
}

export interface AdmitRequest {
  ticket: Ticket;
  ip: string;
  idempotencyKey?: string;
  /** Backlog at which this admission is refused BUSY (the purchase's paced cap); BACKLOG_CAP when absent. */
  backlogCap?: number;
  /** The shopper's waiting-room admission, when the request carried a valid one. */
  admission?: GateAdmissionPass;
}

export interface AdmitAnswer {
  code: AdmitCode;
  /** Units left after this decision (-1 when unknown). */
  remaining: number;
  /** The admitted order (OK), or the first one under the idempotency key (REPLAY). */
  orderId?: string;
}

/** An admission's answer and the state key of the bucket that decided it (for WAIT). */
type KeyedAnswer = AdmitAnswer & { key?: string };
/** What the admission script answers: also LAYOUT and DRY, which are resolved here. */
type ScriptAnswer = Omit<AdmitAnswer, 'code'> & { code: AdmitCode | 'LAYOUT' | 'DRY' };

/** Units moved from a donor bucket into the shopper's home bucket (see TAKE_LUA). */
interface Transfer {
  id: string;
  units: number;
  epoch: string;
}

/** Re-sends of an admission whose script answered that the sale has another layout. */
const LAYOUT_RETRIES = 2;

/**
 * The hot path: one atomic admission decision per purchase (ADMIT_LUA) in the
 * shopper's home bucket. Around the script: the re-send in a new layout, the
 * draw on the other buckets when the home bucket ran dry (TAKE_LUA), the
 * re-send of a call whose pipeline was aborted, and the replication WAIT.
 */
@Injectable()
export class GateAdmission {
  private readonly logger = new Logger('Gate');
  private readonly waits = new Map<Redis, Promise<number>>();
  private unacknowledged = 0;
  private lastWaitWarning = 0;

  constructor(
    @Inject(GateLayout) private readonly layout: GateLayout,
    @Inject(GateConfig) private readonly config: GateConfig,
    @Inject(RedisConfig) private readonly redisConfig: RedisConfig,
  ) {}

  /** Whether the connection to Redis is up (a command sent now is not left waiting for a reconnect). */
  get connected(): boolean {
    return this.layout.connected;
  }

  /** Admissions answered 202 whose replicas did not acknowledge them within REDIS_WAIT_TIMEOUT_MS. */
  get unreplicated(): number {
    return this.unacknowledged;
  }

  /**
   * The one atomic admission decision (see ADMIT_LUA), in the shopper's home
   * bucket. A call aborted when the connection closed with part of its
   * pipeline unanswered (ioredis does not re-send those) is sent once more:
   * the script applies an admission once whatever is re-sent, so the shopper
   * gets the real answer. On a cluster the whole decision (redirections and a
   * failover's retries included) is bounded by REDIS_COMMAND_TIMEOUT_MS.
   * With REDIS_WAIT_REPLICAS, an admission is answered once replicas hold it.
   */
  async admit(request: AdmitRequest): Promise<AdmitAnswer> {
    const decide = this.admitRetried(request);
    const answer =
      this.layout.redis instanceof Cluster
        ? await deadline(decide, this.redisConfig.REDIS_COMMAND_TIMEOUT_MS)
        : await decide;
    if (answer.code === 'OK' && this.redisConfig.REDIS_WAIT_REPLICAS > 0) await this.replicated(answer.key!);
    delete answer.key;
    return answer;
  }

  private async admitRetried(request: AdmitRequest): Promise<KeyedAnswer> {
    try {
      return await this.admitInLayout(request);
    } catch (err) {
      if (!(err instanceof Error && err.name === 'AbortError')) throw err;
      return this.admitInLayout(request);
    }
  }

  /**
   * Sends the admission to the home bucket in the layout this process knows;
   * answered LAYOUT (or NOT_READY on a sale it believes split), it is sent
   * again in the layout the script named, at most LAYOUT_RETRIES times.
   */
  private async admitInLayout(request: AdmitRequest): Promise<KeyedAnswer> {
    const saleId = request.ticket.saleId;
    let buckets = this.layout.knownBuckets(saleId) ?? (await this.layout.bucketsOf(saleId));
    for (let attempt = 0; ; attempt++) {
      const home = homeBucket(request.ticket.userId, buckets);
      const keys = this.layout.bucketKeys(saleId, home, buckets);
      const answer = await this.admitOnce(request, keys, buckets);
      const stale = answer.code === 'LAYOUT' || (answer.code === 'NOT_READY' && buckets > 1);
      if (stale && attempt < LAYOUT_RETRIES) {
        const known =
          answer.code === 'LAYOUT' ? Number(answer.remaining) : await this.layout.bucketsOf(saleId, { fresh: true });
        if (known !== buckets) {
          buckets = known;
          this.layout.learnt(saleId, buckets);
          continue;
        }
      }
      if (answer.code === 'LAYOUT') return { code: 'NOT_READY', remaining: -1 };
      if (answer.code === 'DRY') return this.drawOnOthers(request, { buckets, home, homeRemaining: answer.remaining });
      const keyed = answer as KeyedAnswer;
      keyed.key = keys.state;
      return keyed;
    }
  }

  private async admitOnce(
    { ticket, ip, idempotencyKey, admission, backlogCap }: AdmitRequest,
    k: GateKeys,
    buckets: number,
    transfer?: Transfer,
  ): Promise<ScriptAnswer> {
    const second = Math.floor(ticket.admittedAt / 1000);
    const [code, remaining, orderId] = await this.layout.redis.gateAdmit(
      k.state,
      k.buyers,
      k.pending,
      k.pendingAt,
      k.stats,
      k.rate(second),
      k.rate(second - 1),
      k.idempotency(ticket.userId, idempotencyKey ?? '-'),
      k.transfersIn,
      k.admissionsUsed,
      ticket.userId,
      ticket.quantity,
      ticket.orderId,
      ticket.admittedAt,
      Math.min(backlogCap ?? this.config.BACKLOG_CAP, this.config.BACKLOG_CAP),
      JSON.stringify(ticket),
      this.config.RATE_LIMIT_USER_PER_SECOND,
      this.config.RATE_LIMIT_IP_PER_SECOND,
      idempotencyKey ? 1 : 0,
      this.config.IDEMPOTENCY_TTL_SECONDS,
      this.layout.channel,
      ticket.saleId,
      buckets,
      transfer?.id ?? '',
      transfer?.units ?? 0,
      transfer?.epoch ?? '',
      admission?.key ?? '',
      admission?.issuedAt ?? 0,
      ip,
      second,
    );
    return { code: code as ScriptAnswer['code'], remaining: Number(remaining), orderId: orderId || undefined };
  }

  /**
   * The shopper's home bucket ran dry: take units from the other buckets in
   * turn (each transfer is named after the order and the donor, so a re-sent
   * call moves nothing twice) and admit with them in the same call that
   * receives them. Sold out only when no other bucket has units left; then the
   * news goes out (at most a few times: a copy whose flag is up asks no more).
   */
  private async drawOnOthers(
    request: AdmitRequest,
    { buckets, home, homeRemaining }: { buckets: number; home: number; homeRemaining: number },
  ): Promise<KeyedAnswer> {
    const { ticket } = request;
    const redis = this.layout.redis;
    const homeKeys = this.layout.bucketKeys(ticket.saleId, home, buckets);
    let remaining = homeRemaining;
    let anyLeft = false;
    // Two rounds: a donor found dry may have received units meanwhile from another one.
    for (let i = 1; i < 2 * buckets - 1; i++) {
      const donor = (home + ((i - 1) % (buckets - 1)) + 1) % buckets;
      const donorKeys = this.layout.bucketKeys(ticket.saleId, donor, buckets);
      const id = `${ticket.orderId}.${donor}`;
      const want = Math.max(1, ticket.quantity - Math.max(0, remaining));
      const [units, left, epoch] = await redis.gateTake(
        donorKeys.state,
        donorKeys.transfersOut,
        id,
        want,
        home,
        Date.now(),
      );
      if (left > 0) anyLeft = true;
      if (units === 0) continue;
      const answer = await this.admitOnce(request, homeKeys, buckets, { id, units, epoch });
      // Received (or void): the donor need not keep the record for the sweeper.
      void redis.hdel(donorKeys.transfersOut, id).catch(() => undefined);
      if (answer.code === 'LAYOUT') return { code: 'NOT_READY', remaining: -1 };
      if (answer.code !== 'DRY') return { ...answer, code: answer.code, key: homeKeys.state };
      remaining = answer.remaining;
    }
    await redis.hincrby(homeKeys.stats, 'SOLD_OUT', 1);
    if (!anyLeft && remaining <= 0) await redis.publish(this.layout.channel, `soldout:${ticket.saleId}`);
    return { code: 'SOLD_OUT', remaining: Math.max(0, remaining) };
  }

  /**
   * Waits until REDIS_WAIT_REPLICAS replicas hold the writes made so far on
   * the connection of this key's node: one WAIT per node and turn of the
   * event loop, for every admission answered in it. Fewer acknowledgements
   * than asked (no replica in sync) still answer 202 (the master holds the
   * admission); they are counted and logged.
   */
  private async replicated(key: string): Promise<void> {
    const node = this.nodeOf(key);
    let wait = this.waits.get(node);
    if (!wait) {
      wait = new Promise<number>((resolve, reject) =>
        setImmediate(() => {
          this.waits.delete(node);
          node.wait(this.redisConfig.REDIS_WAIT_REPLICAS, this.redisConfig.REDIS_WAIT_TIMEOUT_MS).then(resolve, reject);
        }),
      );
      this.waits.set(node, wait);
    }
    const acknowledged = await wait;
    if (acknowledged >= this.redisConfig.REDIS_WAIT_REPLICAS) return;
    this.unacknowledged++;
    if (Date.now() - this.lastWaitWarning > 5000) {
      this.lastWaitWarning = Date.now();
      this.logger.warn(
        `${this.unacknowledged} admission(s) so far not acknowledged by ${this.redisConfig.REDIS_WAIT_REPLICAS} replica(s) in ${this.redisConfig.REDIS_WAIT_TIMEOUT_MS} ms`,
      );
    }
  }

  /** The connection that carries commands for this key (the slot's master on a cluster). */
  private nodeOf(key: string): Redis {
    const redis = this.layout.redis;
    if (!(redis instanceof Cluster)) return redis as Redis;
    const master = redis.slots[slotOf(key)]?.[0];
    const node = redis.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === master);
    if (!node) throw new Error('Connection is closed.');
    return node;
  }
}

/** The promise, or a "Command timed out" error (a store out of reach) after `ms`. */
function deadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('Command timed out')), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
