import { createHmac } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { AuthConfig, BotsConfig } from '../infra/config/app-config.js';
import { DomainError } from '../infra/errors/domain-error.js';
import type { ErrorCode } from '../infra/errors/error-codes.js';
import type { AntiBotSettings } from '../sales/anti-bot-settings.js';
import { UsersService } from '../users/users.service.js';
import { BotsMetrics } from './bots.metrics.js';
import { BotsStore, type BotCounts, type Recorded } from './bots.store.js';
import { ChallengeSigner, type Challenge, type Tier } from './challenge.js';
import { clientNetwork } from './network.js';
import { judge, worse, type Judgment, type Reason, type Signals, type Verdict } from './risk-rules.js';

/** The header carrying a solved challenge: `<challenge>:<number>`. */
export const PROOF_HEADER = 'join-proof';
/** The header the storefront page sends with a device id it keeps (a hint: clients can lie). */
export const DEVICE_HEADER = 'device-id';
/** Longest device id taken into account (a longer one is ignored). */
const MAX_DEVICE_ID = 128;

/** An identity at a room's door: who, where from, and the sale's rules. */
export interface DoorInput {
  saleId: string;
  userId: string;
  /** When the sale ends (ms). */
  endsAt: number;
  /** The client address (Fastify's request.ip, after the trusted proxies). */
  ip: string;
  /** The request's headers (Join-Proof, Device-Id). */
  headers: Record<string, string | string[] | undefined>;
  /** The sale's `waitingRoom.antiBot`. */
  settings: AntiBotSettings;
}

/**
 * The screen's answer: `admit` (join the queue), `shadow` (join the shadow
 * queue: a normal-looking place that never reaches the front) or `refuse`
 * (throw joinRefused(reason)). In `log` mode the verdict is always `admit`
 * and `reason` names what `enforce` would have done (null: nothing).
 */
export interface Screened {
  verdict: Verdict;
  reason: Reason | null;
  tier: Tier;
}

/** The answer of the challenge route. */
export type ChallengeView = { required: false } | ({ required: true } & Challenge);

/** A sale's screen counters for the admin room stats, with this process's proof checks. */
export interface BotStats extends BotCounts {
  verification: { proofs: number; cpuMicros: number };
}

const ADMITTED: Screened = { verdict: 'admit', reason: null, tier: 0 };

function header(headers: DoorInput['headers'], name: string): string | null {
  const v = headers[name];
  const text = Array.isArray(v) ? v[0] : v;
  return text === undefined || text === '' ? null : text;
}

/** The refusal of an identity the sale's rules refuse. */
export function joinRefused(reason: Reason | null): DomainError {
  const why: Record<Reason, string> = {
    address: 'Too many accounts joined this sale from this address',
    network: 'Too many accounts joined this sale from this network',
    device: 'Too many accounts joined this sale from this device',
    burst: 'Too many accounts joined this sale from this address just now',
    age: 'This account is too new to join this sale',
  };
  return new DomainError(
    'JOIN_REFUSED',
    reason ? why[reason] : 'This account may not join this sale',
    undefined,
    undefined,
    {
      reason: reason ?? 'rules',
    },
  );
}

/**
 * The anti-bot screen at a waiting room's door (issue 22): the proof-of-work
 * challenge a joiner must solve, and the risk rules (accounts per address,
 * network and device, join bursts, account age) that admit, shadow or
 * refuse an identity. The room calls `screen` before its JOIN script; the
 * challenge route calls `challenge`.
 */
@Injectable()
export class BotsService {
  private readonly signer: ChallengeSigner;
  private readonly createdAt = new LRUCache<string, number>({ max: 50_000 });

  constructor(
    @Inject(BotsStore) private readonly store: BotsStore,
    @Inject(UsersService) private readonly users: UsersService,
    @Inject(BotsMetrics) private readonly metrics: BotsMetrics,
    @Inject(BotsConfig) private readonly config: BotsConfig,
    @Inject(AuthConfig) auth: AuthConfig,
  ) {
    const secret =
      config.BOTS_SECRET ||
      createHmac('sha256', auth.JWT_SECRET).update('flash-sale anti-bot challenges').digest('hex');
    this.signer = new ChallengeSigner(secret);
  }

  /**
   * A challenge for this shopper and sale (none when the sale's mode is
   * `off`), its difficulty raised for the risk signals known now. Rate-limited
   * per client address (429 RATE_LIMITED). Notes the identity on its address,
   * network and device: accounts fetching challenges ahead count as seen.
   */
  async challenge(input: DoorInput): Promise<ChallengeView> {
    const rules = input.settings;
    if (rules.mode === 'off') return { required: false };
    await this.throttle(input.ip);
    const now = Date.now();
    const contacted = await this.store.contact(this.contact(input, null, now));
    if (contacted.used) throw new Error('a contact without a proof cannot be a replay');
    const tier = rules.mode === 'enforce' ? (await this.judge(input, contacted.signals, now)).tier : 0;
    this.metrics.challenge(tier);
    const challenge = this.signer.issue(input, {
      baseWork: rules.difficulty ?? this.config.BOTS_BASE_DIFFICULTY,
      tier,
      ttlMs: this.config.BOTS_CHALLENGE_TTL_SECONDS * 1000,
    });
    return { required: true, ...challenge };
  }

  /**
   * The verdict on a join (mode `off`: admit, nothing read or written). The
   * Join-Proof must solve a challenge issued to this shopper for this sale,
   * unexpired, unused (its replay guard is the only write before the
   * verdict), at least as hard as the signals ask now; a bad one throws its
   * CHALLENGE_* code. An identity keeps the worst verdict it got.
   */
  async screen(input: DoorInput): Promise<Screened> {
    const rules = input.settings;
    if (rules.mode === 'off') return ADMITTED;
    const proof = header(input.headers, PROOF_HEADER);
    if (proof === null) throw this.refusal('CHALLENGE_REQUIRED', null);
    // The check is synchronous: its elapsed time is what this thread spent on it (getrusage, as
    // process.cpuUsage, counts every thread of the process, GC and I/O ones included, and read
    // ≈200 µs per check on a busy machine; a preemption mid-check still counts here, rarely).
    const started = performance.now();
    const checked = this.signer.check(proof, input);
    const cpuMicros = (performance.now() - started) * 1000;
    if (!checked.ok) throw this.refusal(checked.code, cpuMicros);
    const now = Date.now();
    const contacted = await this.store.contact(
      this.contact(input, { salt: checked.salt, expiresAt: checked.expiresAt }, now),
    );
    if (contacted.used) throw this.refusal('CHALLENGE_USED', cpuMicros);
    const judged = await this.judge(input, contacted.signals, now);
    if (rules.mode === 'enforce' && checked.tier < judged.tier) throw this.refusal('CHALLENGE_STALE', cpuMicros);
    this.metrics.proof('ok', cpuMicros);
    const fresh: Recorded = { mode: rules.mode, verdict: judged.verdict, reason: judged.reason, tier: judged.tier };
    const prior = contacted.recorded?.mode === rules.mode ? contacted.recorded : null;
    const final = prior ? worse(prior, fresh) : fresh;
    if (final !== prior) {
      const counted = final.verdict !== 'admit' && final.reason !== null;
      const counter = counted ? `${rules.mode === 'log' ? 'log:' : ''}${final.verdict}:${final.reason}` : null;
      await this.store.record(input.saleId, input.userId, final, { counter, endsAt: input.endsAt, now });
      if (counted) this.metrics.identity(rules.mode, final.verdict, final.reason!);
    }
    if (rules.mode === 'log')
      return { verdict: 'admit', reason: final.verdict === 'admit' ? null : final.reason, tier: 0 };
    return { verdict: final.verdict, reason: final.reason, tier: final.tier };
  }

  /** A sale's counts of shadowed and refused identities by reason, and this process's proof checks. */
  async stats(saleId: string): Promise<BotStats> {
    return { ...(await this.store.counts(saleId)), verification: this.metrics.verification() };
  }

  private contact(input: DoorInput, proof: { salt: string; expiresAt: number } | null, now: number) {
    const device = header(input.headers, DEVICE_HEADER)?.trim() ?? null;
    return {
      saleId: input.saleId,
      userId: input.userId,
      endsAt: input.endsAt,
      client: clientNetwork(input.ip),
      deviceId: device && device.length <= MAX_DEVICE_ID ? device : null,
      proof,
      burstWindowMs: input.settings.burst.windowSeconds * 1000,
      now,
    };
  }

  private async judge(input: DoorInput, signals: Omit<Signals, 'accountCreatedAt'>, now: number): Promise<Judgment> {
    const accountCreatedAt =
      input.settings.accountAge.minSeconds > 0 ? await this.accountCreatedAt(input.userId) : null;
    return judge({ ...signals, accountCreatedAt }, input.settings, now);
  }

  private async accountCreatedAt(userId: string): Promise<number | null> {
    const known = this.createdAt.get(userId);
    if (known !== undefined) return known;
    const at = (await this.users.createdAt(userId))?.getTime() ?? null;
    if (at !== null) this.createdAt.set(userId, at);
    return at;
  }

  private async throttle(ip: string): Promise<void> {
    const limit = this.config.BOTS_CHALLENGE_LIMIT_PER_IP;
    if (limit === 0) return;
    const windowMs = this.config.BOTS_CHALLENGE_WINDOW_SECONDS * 1000;
    const [count, leftMs] = await this.store.hit(clientNetwork(ip)?.address ?? ip, windowMs);
    if (count <= limit) return;
    throw new DomainError('RATE_LIMITED', 'Too many challenges asked from this address; try again later', undefined, {
      'retry-after': String(Math.max(1, Math.ceil(leftMs / 1000))),
    });
  }

  private refusal(code: ErrorCode, cpuMicros: number | null): DomainError {
    this.metrics.proof(code, cpuMicros);
    const messages: Partial<Record<ErrorCode, string>> = {
      CHALLENGE_REQUIRED:
        'Joining this queue needs a solved challenge: GET /sales/{id}/queue/challenge, then send header Join-Proof',
      CHALLENGE_MALFORMED: 'Join-Proof must be <challenge>:<number>',
      CHALLENGE_INVALID: 'The challenge was not issued to this shopper for this sale, or the number does not solve it',
      CHALLENGE_EXPIRED: 'The challenge has expired; get a new one',
      CHALLENGE_USED: 'The challenge was used already; get a new one',
      CHALLENGE_STALE: 'This join needs a harder challenge; get a new one',
    };
    return new DomainError(code, messages[code] ?? code);
  }
}
