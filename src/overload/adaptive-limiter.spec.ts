import { describe, expect, it } from '@jest/globals';
import { AdaptiveLimiter, type LimiterSettings } from './adaptive-limiter.js';

const SETTINGS: LimiterSettings = {
  enabled: true,
  targetMs: 5,
  maxElu: 0.99,
  initialLimit: 100,
  minLimit: 10,
  maxLimit: 5000,
  intervalMs: 100,
};
const CALM = { loopDelayMs: 1, elu: 0.5 };
const OVERLOADED = { loopDelayMs: 40, elu: 1 };

/** Lets `n` requests of a class through and counts what was shed, by reason. */
function offer(limiter: AdaptiveLimiter, cls: 'buy' | 'track' | 'browse', n: number, counted = false) {
  const shed = { pressure: 0, limit: 0 };
  for (let i = 0; i < n; i++) {
    const reason = limiter.admit(cls, counted);
    if (reason) shed[reason]++;
    else if (counted) limiter.done(cls, 1);
  }
  return shed;
}

describe('AdaptiveLimiter', () => {
  it('sheds nothing while calm', () => {
    const limiter = new AdaptiveLimiter(SETTINGS);
    for (let i = 0; i < 20; i++) limiter.tick(CALM);
    expect(offer(limiter, 'browse', 1000)).toEqual({ pressure: 0, limit: 0 });
    expect(offer(limiter, 'buy', 1000, true)).toEqual({ pressure: 0, limit: 0 });
  });

  it('sheds browse first, then track, and cuts the purchases’ limit only when both are shed', () => {
    const limiter = new AdaptiveLimiter(SETTINGS);
    limiter.tick(OVERLOADED); // pressure 0.5
    expect(offer(limiter, 'browse', 100).pressure).toBe(50);
    expect(offer(limiter, 'track', 100).pressure).toBe(0);
    limiter.tick(OVERLOADED); // 1
    expect(offer(limiter, 'browse', 100).pressure).toBe(100);
    expect(offer(limiter, 'track', 100).pressure).toBe(0);
    limiter.tick(OVERLOADED); // 1.5
    expect(offer(limiter, 'track', 100).pressure).toBe(50);
    expect(limiter.limit).toBe(100);
    limiter.tick(OVERLOADED); // 2: everything below buy is shed
    expect(offer(limiter, 'track', 100).pressure).toBe(100);
    expect(offer(limiter, 'buy', 100)).toEqual({ pressure: 0, limit: 0 });
    limiter.tick(OVERLOADED);
    // Still overloaded: the limit goes to the measured capacity. An interval served 50 purchases
    // of 20 ms each: 50 × 20 / 100 = 10 in flight at the best rate and least latency, × 2.
    for (let i = 0; i < 50; i++) {
      limiter.admit('buy', true);
      limiter.done('buy', 20);
    }
    for (let i = 0; i < 30; i++) limiter.admit('buy', true);
    limiter.tick(OVERLOADED);
    expect(limiter.capacity()).toBe(10);
    expect(limiter.limit).toBe(20);
    expect(offer(limiter, 'buy', 10, true).limit).toBe(10); // 30 in flight ≥ 20
  });

  it('keeps a share of the limit for the classes above', () => {
    const limiter = new AdaptiveLimiter({ ...SETTINGS, initialLimit: 20 });
    for (let i = 0; i < 10; i++) expect(limiter.admit('browse', true)).toBeUndefined();
    expect(limiter.admit('browse', true)).toBe('limit'); // 10 of 20: browse's half
    for (let i = 0; i < 5; i++) expect(limiter.admit('track', true)).toBeUndefined();
    expect(limiter.admit('track', true)).toBe('limit'); // 15 of 20
    for (let i = 0; i < 5; i++) expect(limiter.admit('buy', true)).toBeUndefined();
    expect(limiter.admit('buy', true)).toBe('limit');
    limiter.done('browse', 3);
    expect(limiter.admit('buy', true)).toBeUndefined();
  });

  it('never goes below its minimum, and a limit pinned there recovers once calm', () => {
    const limiter = new AdaptiveLimiter(SETTINGS);
    // Purchases of 20 ms, overloaded all along: the capacity estimate (0.2 × limit × 2) shrinks with the limit down to the minimum.
    for (let i = 0; i < 200; i++) {
      for (let j = 0; j < limiter.limit; j++) limiter.admit('buy', true);
      limiter.tick(OVERLOADED);
      while (limiter.inFlight > 0) limiter.done('buy', 20);
    }
    expect(limiter.limit).toBe(10);
    // At the minimum, purchases still pass: it never deadlocks.
    expect(offer(limiter, 'buy', 50, true)).toEqual({ pressure: 0, limit: 0 });
    // Calm and the limit in use: +√limit per interval, from 10 to over 200 within 3 s of 100 ms intervals.
    let ticks = 0;
    while (limiter.limit < 200 && ticks < 100) {
      for (let j = 0; j < limiter.limit; j++) limiter.admit('buy', true);
      limiter.tick(CALM);
      while (limiter.inFlight > 0) limiter.done('buy', 2);
      ticks++;
    }
    expect(ticks).toBeLessThanOrEqual(30);
    // The pressure is released too: browse passes again.
    for (let i = 0; i < 30; i++) limiter.tick(CALM);
    expect(limiter.pressure).toBe(0);
    expect(offer(limiter, 'browse', 100).pressure).toBe(0);
  });

  it('does not grow a limit nobody uses, nor beyond its maximum', () => {
    const limiter = new AdaptiveLimiter({ ...SETTINGS, maxLimit: 150 });
    for (let i = 0; i < 50; i++) limiter.tick(CALM);
    expect(limiter.limit).toBe(100);
    for (let i = 0; i < 50; i++) {
      for (let j = 0; j < limiter.limit; j++) limiter.admit('buy', true);
      limiter.tick(CALM);
      while (limiter.inFlight > 0) limiter.done('buy', 1);
    }
    expect(limiter.limit).toBe(150);
  });

  it('takes a loop busy all the interval for overload when the utilization is used, not otherwise', () => {
    const busy = { loopDelayMs: 1, elu: 0.995 };
    const withElu = new AdaptiveLimiter(SETTINGS);
    withElu.tick(busy);
    expect(withElu.overloaded).toBe(true);
    const without = new AdaptiveLimiter({ ...SETTINGS, maxElu: 1 });
    without.tick(busy);
    expect(without.overloaded).toBe(false);
  });

  it('a short pause (one long turn) is not a standing queue: only the least delay counts', () => {
    const limiter = new AdaptiveLimiter(SETTINGS);
    limiter.tick({ loopDelayMs: 4, elu: 0.9 });
    expect(limiter.overloaded).toBe(false);
    limiter.tick({ loopDelayMs: 6, elu: 0.9 });
    expect(limiter.overloaded).toBe(true);
  });

  it('a delay while the loop was mostly idle is the machine’s, not a queue: not overloaded', () => {
    const limiter = new AdaptiveLimiter(SETTINGS);
    limiter.tick({ loopDelayMs: 30, elu: 0.2 });
    expect(limiter.overloaded).toBe(false);
  });

  it('measures only: sheds nothing when disabled, whatever the signals', () => {
    const limiter = new AdaptiveLimiter({ ...SETTINGS, enabled: false, initialLimit: 10 });
    for (let i = 0; i < 10; i++) limiter.tick(OVERLOADED);
    expect(offer(limiter, 'browse', 100)).toEqual({ pressure: 0, limit: 0 });
    for (let i = 0; i < 50; i++) expect(limiter.admit('buy', true)).toBeUndefined();
    expect(limiter.inFlight).toBe(50);
  });

  it('reports the window’s latencies: least, mean, and the purchases’ p99', () => {
    const limiter = new AdaptiveLimiter(SETTINGS);
    for (let i = 1; i <= 100; i++) {
      limiter.admit('buy', true);
      limiter.done('buy', i);
    }
    limiter.admit('track', true);
    limiter.done('track', 0.5);
    limiter.tick(CALM);
    expect(limiter.latency.count).toBe(101);
    expect(limiter.latency.minMs).toBe(0.5);
    expect(limiter.latency.buyP99Ms).toBe(100);
    expect(limiter.latency.meanMs).toBeCloseTo((5050 + 0.5) / 101);
    limiter.tick(CALM);
    expect(limiter.latency).toEqual({ count: 0, minMs: 0, meanMs: 0, buyP99Ms: 0 });
  });
});
