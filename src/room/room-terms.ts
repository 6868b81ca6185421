import type { Place } from './room.store.js';
import type { QueueMemo } from './room-tokens.js';

/** What a shopper is told about their place (GET/POST/DELETE /sales/:id/queue). */
export type QueueState =
  'prequeue' | 'waiting' | 'admitted' | 'used' | 'sold_out' | 'closed' | 'full' | 'not_open' | 'left';

export interface QueueTerms {
  state: QueueState;
  /** 1 = next in line; null in the pre-queue (the order is drawn at the start) and when not waiting. */
  position: number | null;
  /** The wait until admission, a range (0, 0 when not waiting). */
  estimatedWaitSeconds: { low: number; high: number };
  /** Poll again after this long, not before (a poll before it is answered from the queue token). */
  refreshAfterSeconds: number;
  /** Shoppers waiting in the room. */
  queueLength: number;
  /** Admissions per second the estimate is based on (measured; the configured rate until measured). */
  admitPerSecond: number;
}

/** Longest refresh period while waiting (s); a waiter silent for GONE_AFTER_MS counts as gone. */
export const MAX_REFRESH_SECONDS = 20;
/** A waiter who has not polled for this long (three longest refresh periods) loses their place. */
export const GONE_AFTER_MS = 3 * MAX_REFRESH_SECONDS * 1000;

export interface TermsInput {
  place: Place;
  startsAt: number;
  claimSeconds: number;
  /** The rate configured (or the default for `auto`): used until the room has measured one. */
  configuredRate: number;
  /** The shopper's last answer (from their queue token), to keep the estimate from jumping up on noise. */
  memo?: QueueMemo | null;
  /** Spreads the pre-queue's first polls after the start (0..1; random in production). */
  jitter?: number;
}

/**
 * The rules of what a shopper is told, from where the scripts say they stand
 * (times: the Redis clock of that answer).
 * - Estimates come from the measured admission rate (admissions per second
 *   while shoppers waited), the configured one until there is a measurement:
 *   wait ≈ position / rate, shown as a range of ±20 % (at least ±1 s).
 * - An estimate does not grow on noise: within 25 % above what the shopper was
 *   last told (minus the time since), the lower figure stands; a larger rise
 *   (the rate really fell) is shown.
 * - Refresh: a quarter of the estimated wait, 1..MAX_REFRESH_SECONDS, 1 s when
 *   the turn is under 5 s away, and never more than a third of the claim
 *   window, so no admission lapses between two polls. In the pre-queue, half
 *   the time to the start; the first poll after the start is spread over 1-5 s.
 */
export function queueTerms({
  place,
  startsAt,
  claimSeconds,
  configuredRate,
  memo,
  jitter = 0,
}: TermsInput): QueueTerms {
  const { now, waiting, measuredRate, rateNow } = place.room;
  const rate = Math.max(measuredRate > 0 ? measuredRate : (rateNow ?? configuredRate), 0.001);
  const base = { queueLength: waiting, admitPerSecond: round1(rate) };
  const none = { low: 0, high: 0 };
  const claimCap = Math.max(1, Math.floor(claimSeconds / 3));
  switch (place.state) {
    case 'waiting': {
      if (place.room.soldOut) {
        return {
          ...base,
          state: 'sold_out',
          position: place.ahead + 1,
          estimatedWaitSeconds: none,
          refreshAfterSeconds: 15,
        };
      }
      if (now < startsAt) {
        const untilStart = (startsAt - now) / 1000;
        const refresh =
          untilStart > 2 * MAX_REFRESH_SECONDS ? MAX_REFRESH_SECONDS : Math.max(1, Math.ceil(untilStart / 2));
        const first = untilStart <= refresh ? Math.ceil(untilStart) + 1 + Math.floor(jitter * 5) : refresh;
        return {
          ...base,
          state: 'prequeue',
          position: null,
          estimatedWaitSeconds: { low: Math.ceil(untilStart), high: Math.ceil(untilStart + waiting / rate) },
          refreshAfterSeconds: Math.min(first, MAX_REFRESH_SECONDS),
        };
      }
      const position = place.ahead + 1;
      let eta = position / rate;
      if (memo?.state === 'waiting') {
        const told = Math.max(0, (memo.low + memo.high) / 2 - (now - memo.at) / 1000);
        if (eta > told && eta <= told * 1.25 + 1) eta = told;
      }
      const spread = Math.max(1, eta * 0.2);
      const refresh = eta < 5 ? 1 : Math.min(MAX_REFRESH_SECONDS, claimCap, Math.max(1, Math.round(eta / 4)));
      return {
        ...base,
        state: 'waiting',
        position,
        estimatedWaitSeconds: { low: Math.max(0, Math.floor(eta - spread)), high: Math.ceil(eta + spread) },
        refreshAfterSeconds: refresh,
      };
    }
    case 'admitted': {
      const left = Math.max(0, (place.expiresAt - now) / 1000);
      return {
        ...base,
        state: 'admitted',
        position: null,
        estimatedWaitSeconds: none,
        refreshAfterSeconds: Math.max(1, Math.min(10, Math.floor(left / 3))),
      };
    }
    case 'buying':
      return { ...base, state: 'used', position: null, estimatedWaitSeconds: none, refreshAfterSeconds: 60 };
    case 'closed':
      return { ...base, state: 'closed', position: null, estimatedWaitSeconds: none, refreshAfterSeconds: 60 };
    case 'full':
      return { ...base, state: 'full', position: null, estimatedWaitSeconds: none, refreshAfterSeconds: 30 };
    case 'not_open':
      return { ...base, state: 'not_open', position: null, estimatedWaitSeconds: none, refreshAfterSeconds: 30 };
    case 'none':
      return { ...base, state: 'left', position: null, estimatedWaitSeconds: none, refreshAfterSeconds: 30 };
  }
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
