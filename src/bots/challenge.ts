import { createHash, createHmac, createSecretKey, randomFillSync, randomInt, timingSafeEqual } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

/** Difficulty tiers: the base work, ×10, ×100. */
export type Tier = 0 | 1 | 2;
export const TIER_FACTOR: Record<Tier, number> = { 0: 1, 1: 10, 2: 100 };

/**
 * A proof-of-work challenge: find the number n in [0, maxNumber] whose
 * SHA-256 of `salt + n` (n in decimal) is `hash`. A solver tries maxNumber / 2
 * numbers on average, maxNumber at worst (the spread of a uniform draw, not
 * the long tail of a "leading zeros" puzzle).
 */
export interface Challenge {
  /** What to send back, with the number, in the Join-Proof header: `<challenge>:<n>`. */
  challenge: string;
  algorithm: 'SHA-256';
  salt: string;
  /** Lower-case hex SHA-256 of salt + n. */
  hash: string;
  maxNumber: number;
  tier: Tier;
  expiresAt: Date;
}

export interface ChallengeOwner {
  saleId: string;
  userId: string;
}

export type ProofCheck =
  | { ok: true; tier: Tier; salt: string; expiresAt: number }
  | { ok: false; code: 'CHALLENGE_MALFORMED' | 'CHALLENGE_INVALID' | 'CHALLENGE_EXPIRED' };

/** `<expiry base36>.<tier>.<maxNumber base36>.<salt>.<hash hex>.<signature>:<n>` */
const PROOF = /^([0-9a-z]{1,11})\.([012])\.([0-9a-z]{1,8})\.([\w-]{16})\.([0-9a-f]{64})\.([\w-]{22}):(\d{1,10})$/;
/** Longest Join-Proof header accepted (the format above is at most 147 characters). */
export const MAX_PROOF_LENGTH = 160;

/** Salts come from a 4 KB block of system randomness, 12 bytes at a time. */
let pool = Buffer.alloc(0);
let next = 0;
function salt(): string {
  if (next + 12 > pool.length) {
    pool = randomFillSync(Buffer.alloc(4092));
    next = 0;
  }
  next += 12;
  return pool.subarray(next - 12, next).toString('base64url');
}

/**
 * Issues and checks the challenges, statelessly: a challenge carries its
 * salt, hash, difficulty and expiry, signed (HMAC-SHA-256) together with the
 * shopper and the sale it was issued to; nothing is stored until a solved
 * one is used (the replay guard, outside this class).
 */
export class ChallengeSigner {
  private readonly key: KeyObject;

  constructor(
    secret: string,
    private readonly now: () => number = Date.now,
  ) {
    this.key = createSecretKey(Buffer.from(secret));
  }

  issue(owner: ChallengeOwner, options: { baseWork: number; tier: Tier; ttlMs: number }): Challenge {
    const maxNumber = Math.max(1, Math.round(options.baseWork * TIER_FACTOR[options.tier]));
    const expiry = this.now() + options.ttlMs;
    const s = salt();
    const hash = sha256Hex(s + String(randomInt(0, maxNumber + 1)));
    const fields = `${expiry.toString(36)}.${options.tier}.${maxNumber.toString(36)}.${s}.${hash}`;
    return {
      challenge: `${fields}.${this.sign(owner, fields)}`,
      algorithm: 'SHA-256',
      salt: s,
      hash,
      maxNumber,
      tier: options.tier,
      expiresAt: new Date(expiry),
    };
  }

  /**
   * Checks a Join-Proof (`<challenge>:<n>`) for this shopper and sale: well
   * formed, signed by us for them, not expired, and n solves it. Costs one
   * HMAC and one SHA-256 (a few µs).
   */
  check(proof: string, owner: ChallengeOwner): ProofCheck {
    const m = proof.length <= MAX_PROOF_LENGTH ? PROOF.exec(proof) : null;
    if (!m) return { ok: false, code: 'CHALLENGE_MALFORMED' };
    const [, exp, tier, max, s, hash, signature, n] = m as unknown as string[];
    const fields = proof.slice(0, proof.length - signature!.length - n!.length - 2);
    const expected = Buffer.from(this.sign(owner, fields));
    const given = Buffer.from(signature!);
    if (!timingSafeEqual(expected, given)) return { ok: false, code: 'CHALLENGE_INVALID' };
    const expiresAt = parseInt(exp!, 36);
    if (this.now() >= expiresAt) return { ok: false, code: 'CHALLENGE_EXPIRED' };
    if (Number(n) > parseInt(max!, 36) || sha256Hex(s! + n!) !== hash) return { ok: false, code: 'CHALLENGE_INVALID' };
    return { ok: true, tier: Number(tier) as Tier, salt: s!, expiresAt };
  }

  private sign(owner: ChallengeOwner, fields: string): string {
    return createHmac('sha256', this.key)
      .update(`${owner.saleId}|${owner.userId}|${fields}`)
      .digest('base64url')
      .slice(0, 22);
  }
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Finds the number of a challenge by trying each in turn (tests, benches, a scripted client). */
export function solve(challenge: Pick<Challenge, 'salt' | 'hash' | 'maxNumber'>): number | null {
  for (let n = 0; n <= challenge.maxNumber; n++) {
    if (sha256Hex(challenge.salt + n) === challenge.hash) return n;
  }
  return null;
}
