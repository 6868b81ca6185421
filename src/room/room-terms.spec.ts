import { describe, expect, it } from '@jest/globals';
import { GONE_AFTER_MS, MAX_REFRESH_SECONDS, queueTerms, type TermsInput } from './room-terms.js';
import type { Place, RoomNow } from './room.store.js';

const START = 1_800_000_000_000;

function room(over: Partial<RoomNow> = {}): RoomNow {
  return { now: START + 60_000, waiting: 1000, measuredRate: 0, rateNow: null, soldOut: false, ...over };
}

function terms(place: Place, over: Partial<TermsInput> = {}) {
  return queueTerms({ place, startsAt: START, claimSeconds: 60, configuredRate: 100, ...over });
}

describe('what a waiting shopper is told (fake clock: the place carries the time)', () => {
  it('pre-queue: no position, a wait from the start, refreshes until just after the start', () => {
    const far = terms({ state: 'waiting', ahead: 10, prequeue: true, room: room({ now: START - 300_000 }) });
    expect(far).toMatchObject({ state: 'prequeue', position: null, refreshAfterSeconds: MAX_REFRESH_SECONDS });
    expect(far.estimatedWaitSeconds).toEqual({ low: 300, high: 310 });
    const near = terms(
      { state: 'waiting', ahead: 10, prequeue: true, room: room({ now: START - 1000 }) },
      { jitter: 0.99 },
    );
    // The first poll lands after the start, spread over a few seconds by the jitter.
    expect(near.refreshAfterSeconds).toBe(6);
    const sooner = terms(
      { state: 'waiting', ahead: 10, prequeue: true, room: room({ now: START - 1000 }) },
      { jitter: 0 },
    );
    expect(sooner.refreshAfterSeconds).toBe(2);
  });

  it('waiting: position = ahead + 1, wait = position / the measured rate (configured until measured)', () => {
    const configured = terms({ state: 'waiting', ahead: 999, prequeue: false, room: room() });
    expect(configured).toMatchObject({ state: 'waiting', position: 1000, admitPerSecond: 100 });
    expect(configured.estimatedWaitSeconds).toEqual({ low: 8, high: 12 });
    const measured = terms({ state: 'waiting', ahead: 999, prequeue: false, room: room({ measuredRate: 50 }) });
    expect(measured.estimatedWaitSeconds).toEqual({ low: 16, high: 24 });
    expect(measured.admitPerSecond).toBe(50);
  });

  it('refresh: a quarter of the wait, 1 s near the front, never over a third of the claim window', () => {
    const front = terms({ state: 'waiting', ahead: 100, prequeue: false, room: room() });
    expect(front.refreshAfterSeconds).toBe(1);
    const mid = terms({ state: 'waiting', ahead: 3999, prequeue: false, room: room() });
    expect(mid.refreshAfterSeconds).toBe(10);
    const far = terms({ state: 'waiting', ahead: 99_999, prequeue: false, room: room() });
    expect(far.refreshAfterSeconds).toBe(MAX_REFRESH_SECONDS);
    const shortClaim = terms({ state: 'waiting', ahead: 99_999, prequeue: false, room: room() }, { claimSeconds: 15 });
    expect(shortClaim.refreshAfterSeconds).toBe(5);
    // A waiter who polls as told is never counted gone.
    expect(GONE_AFTER_MS).toBeGreaterThanOrEqual(3 * MAX_REFRESH_SECONDS * 1000);
  });

  it('the estimate does not grow on noise, but shows a real slowdown', () => {
    const memo = { state: 'waiting', position: 1000, low: 8, high: 12, queueLength: 1000, admitPerSecond: 100 };
    const at = START + 60_000;
    // 2 s later the shopper was told ~8 s; the rate dipped a little (position 900 at 95/s ≈ 9.5 s): 8 s stands.
    const noisy = terms(
      { state: 'waiting', ahead: 899, prequeue: false, room: room({ now: at + 2000, measuredRate: 95 }) },
      { memo: { ...memo, refreshAt: at + 2000, at } },
    );
    expect((noisy.estimatedWaitSeconds.low + noisy.estimatedWaitSeconds.high) / 2).toBeCloseTo(8, 0);
    // The rate halved: the estimate rises and says so.
    const slower = terms(
      { state: 'waiting', ahead: 899, prequeue: false, room: room({ now: at + 2000, measuredRate: 40 }) },
      { memo: { ...memo, refreshAt: at + 2000, at } },
    );
    expect(slower.estimatedWaitSeconds.low).toBeGreaterThan(12);
  });

  it('admitted, used, sold out, closed, full and left', () => {
    const admitted = terms({ state: 'admitted', issuedAt: START, expiresAt: START + 90_000, room: room() });
    expect(admitted).toMatchObject({ state: 'admitted', position: null, refreshAfterSeconds: 10 });
    expect(terms({ state: 'buying', until: START + 900_000, room: room() }).state).toBe('used');
    const soldOut = terms({ state: 'waiting', ahead: 4, prequeue: false, room: room({ soldOut: true }) });
    expect(soldOut).toMatchObject({ state: 'sold_out', position: 5, estimatedWaitSeconds: { low: 0, high: 0 } });
    expect(terms({ state: 'closed', room: room() }).state).toBe('closed');
    expect(terms({ state: 'full', room: room() }).state).toBe('full');
    expect(terms({ state: 'none', room: room() }).state).toBe('left');
  });
});
