import type { DoorState } from './doors.js';

/**
 * What the waiting room's admitter knows each step (about once a second) to
 * set its `auto` admission rate: the purchase path as measured by every API
 * copy's door, and the sale's hand-off backlog.
 */
export interface AdmissionSignals {
  /** API copies that published a fresh door state. */
  copies: number;
  /** Copies whose last interval was overloaded. */
  overloadedCopies: number;
  /** Purchases shed at the doors per second (all copies). */
  purchasesShedPerSecond: number;
  /** The worst copy's p99 of a purchase's time in the API (ms). */
  purchaseP99Ms: number;
  /** Purchases in flight (what a purchase's limit counts) and the adaptive limits, summed over the copies. */
  inFlight: number;
  limit: number;
  /** The sale's admitted tickets not yet persisted, and how fast they are persisted (per second). */
  backlog: number;
  drainPerSecond: number;
}

export interface AdmissionRateSettings {
  /** Admissions per second never set below / above. */
  minRate: number;
  maxRate: number;
  /** p99 of a purchase in the API above which the rate goes down (ms). */
  targetP99Ms: number;
  /** Backlog above which admission must not outrun the drain (e.g. where backlog pacing starts). */
  backlogBound: number;
}

export type RateReason = 'no-data' | 'shed' | 'latency' | 'backlog' | 'overloaded' | 'near-limit' | 'headroom';

export interface RateStep {
  rate: number;
  /** Which rule set it (for the live view and the tests). */
  reason: RateReason;
}

/** Multiplicative decrease when purchases are shed. */
const SHED_DECREASE = 0.7;
/** Additive-ish increase per step: this share of the rate, scaled by the latency headroom. */
const INCREASE = 0.1;

/**
 * The control law of the waiting room's `auto` rate, one step (pure):
 * 1. purchases shed at a door: rate × 0.7;
 * 2. purchase p99 over its target: rate × max(0.5, target / p99);
 * 3. backlog over its bound: no faster than the drain (and × 0.9);
 * 4. half the copies overloaded, or in flight at ≥ 80 % of the limits: hold;
 * 5. otherwise grow by up to 10 % (+1 at least), less as p99 nears its target.
 * Clamped to [minRate, maxRate]; no fresh door state: hold.
 * The room so holds the crowd, and the purchase path stays just below the
 * point where the doors start to shed or the backlog outgrows the drain.
 *
 * Only what the purchases themselves measure lowers the rate. A copy can be
 * overloaded by the room's own crowd (every waiter polls, however few are
 * let in) or by another process on its machine: admitting fewer would not
 * relieve it, so an overloaded copy only stops the rate from growing. (The
 * first law cut the rate by 0.7 for it: in bench:room, polls kept the copy
 * overloaded, the rate fell to its minimum of 20 a second while purchases
 * took 84 ms at p99, and 7,273 of 10,000 units sold in 300 s.)
 */
export function nextRate(current: number, s: AdmissionSignals, settings: AdmissionRateSettings): RateStep {
  const clamp = (rate: number): number => Math.min(settings.maxRate, Math.max(settings.minRate, rate));
  if (s.copies === 0) return { rate: clamp(current), reason: 'no-data' };
  if (s.purchasesShedPerSecond > 0) return { rate: clamp(current * SHED_DECREASE), reason: 'shed' };
  if (s.purchaseP99Ms > settings.targetP99Ms) {
    return { rate: clamp(current * Math.max(0.5, settings.targetP99Ms / s.purchaseP99Ms)), reason: 'latency' };
  }
  if (s.backlog > settings.backlogBound) {
    return { rate: clamp(Math.min(current * 0.9, s.drainPerSecond)), reason: 'backlog' };
  }
  if (s.overloadedCopies * 2 >= s.copies) return { rate: clamp(current), reason: 'overloaded' };
  if (s.limit > 0 && s.inFlight >= 0.8 * s.limit) return { rate: clamp(current), reason: 'near-limit' };
  const headroom = 1 - s.purchaseP99Ms / settings.targetP99Ms;
  return { rate: clamp(current + Math.max(1, current * INCREASE * headroom)), reason: 'headroom' };
}

/** The doors' part of the signals, from the states DoorsReader returns. */
export function doorSignals(
  doors: readonly DoorState[],
): Pick<
  AdmissionSignals,
  'copies' | 'overloadedCopies' | 'purchasesShedPerSecond' | 'purchaseP99Ms' | 'inFlight' | 'limit'
> {
  let overloadedCopies = 0;
  let purchasesShedPerSecond = 0;
  let purchaseP99Ms = 0;
  let inFlight = 0;
  let limit = 0;
  for (const d of doors) {
    if (d.overloaded) overloadedCopies++;
    purchasesShedPerSecond += d.purchasesShedPerSecond;
    purchaseP99Ms = Math.max(purchaseP99Ms, d.purchaseP99Ms);
    inFlight += d.inFlightBuy;
    limit += d.limit;
  }
  return { copies: doors.length, overloadedCopies, purchasesShedPerSecond, purchaseP99Ms, inFlight, limit };
}
