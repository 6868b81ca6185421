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

/**
 * Serves `n` counted requests of a class, `inFlight` at a time (the interval's peak), each taking `latencyMs`:
 * an interval's throughput at a given in-flight.
 */
function serve(limiter: AdaptiveLimiter, cls: 'buy' | 'track' | 'browse', n: number, inFlight: number, latencyMs = 10) {
  for (let served = 0; served < n; served += inFlight) {
    const batch = Math.min(inFlight, n - served);
    for (let i = 0; i < batch; i++) expect(limiter.admit(cls, true)).toBeUndefined();
    for (let i = 0; i < batch; i++) limiter.done(cls, latencyMs);
  }
}

describe('AdaptiveLimiter', () => {
  it('a request passed (a waiting room join) is demand of its class, never held in flight', () => {
    const limiter = new AdaptiveLimiter(SETTINGS);
    offer(limiter, 'buy', 1);
    for (let i = 0; i < 1000; i++) limiter.pass('track');
    expect(limiter.inFlight).toBe(0);
    expect(limiter.admitted.track).toBe(1000);
    // Demand of track: browse is shed by the pressure for it (and for the purchases).
    limiter.tick(OVERLOADED);
    limiter.tick(OVERLOADED);
    expect(offer(limiter, 'browse', 10).pressure).toBe(10);
  });

  it('a purchase meets the limit with the purchases in flight only: polls and reads in flight never take its place', () => {
    const limiter = new AdaptiveLimiter({ ...SETTINGS, initialLimit: 20 });
    // Browse fills its share of the limit (half), track its own (three quarters of it, counting browse).
    for (let i = 0; i < 10; i++) expect(limiter.admit('browse', true)).toBeUndefined();
    expect(limiter.admit('browse', true)).toBe('limit');
    for (let i = 0; i < 5; i++) expect(limiter.admit('track', true)).toBeUndefined();
    expect(limiter.admit('track', true)).toBe('limit');
    expect(limiter.inFlight).toBe(15);
    // Purchases: the whole limit is theirs.
    for (let i = 0; i < 20; i++) expect(limiter.admit('buy', true)).toBeUndefined();
    expect(limiter.admit('buy', true)).toBe('limit');
    expect([limiter.inFlight, limiter.inFlightBuy]).toEqual([35, 20]);
    limiter.done('buy', 1);
    expect(limiter.admit('buy', true)).toBeUndefined();
    // The lower classes still count everything in flight.
    limiter.done('browse', 1);
    expect(limiter.admit('browse', true)).toBe('limit');
  });

  it('polls taken as purchases (the head of a room) use half the limit at most: the rest stays the purchases', () => {
    const limiter = new AdaptiveLimiter({ ...SETTINGS, initialLimit: 20 });
    for (let i = 0; i < 10; i++) expect(limiter.admit('buy', true, true)).toBeUndefined();
    expect(limiter.admit('buy', true, true)).toBe('limit');
    for (let i = 0; i < 10; i++) expect(limiter.admit('buy', true)).toBeUndefined();
    expect(limiter.admit('buy', true)).toBe('limit');
    expect(limiter.inFlightBuy).toBe(20);
  });

  it('sheds nothing while calm', () => {
    const limiter = new AdaptiveLimiter(SETTINGS);
    for (let i = 0; i < 20; i++) limiter.tick(CALM);
    expect(offer(limiter, 'browse', 1000)).toEqual({ pressure: 0, limit: 0 });
    expect(offer(limiter, 'buy', 1000, true)).toEqual({ pressure: 0, limit: 0 });
  });

  it('with purchases arriving, sheds browse first, then track, and cuts the limit only when both are shed', () => {
    const limiter = new AdaptiveLimiter(SETTINGS);
    serve(limiter, 'buy', 50, 8); // the best: 50 purchases in an interval at 8 in flight
    limiter.tick(CALM);
    // Track and browse have demand too (without it the pressure would have nothing to shed for purchases).
    offer(limiter, 'track', 1);
    offer(limiter, 'browse', 1);
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
    expect(limiter.limit).toBe(100);
    // Still overloaded: the limit goes to 2 × the in-flight that served the best throughput.
    limiter.tick(OVERLOADED);
    expect(limiter.limit).toBe(16);
    for (let i = 0; i < 16; i++) expect(limiter.admit('buy', true)).toBeUndefined();
    expect(offer(limiter, 'buy', 10, true).limit).toBe(10);
  });

  it('only browsing arriving, overloaded: not shed by the pressure, only bounded by the limit', () => {
    const limiter = new AdaptiveLimiter(SETTINGS);
    let shed = 0;
    for (let i = 0; i < 20; i++) {
      shed += offer(limiter, 'browse', 100).pressure;
      limiter.tick(OVERLOADED);
    }
    expect(shed).toBe(0);
    expect(limiter.pressure).toBe(0);
    // Counted browsing is bounded by its share of the limit (50 of 100).
    for (let i = 0; i < 50; i++) expect(limiter.admit('browse', true)).toBeUndefined();
    expect(limiter.admit('browse', true)).toBe('limit');
  });

  it('only joins and polls arriving (track and browse): browse is shed, track never by the pressure', () => {
    const limiter = new AdaptiveLimiter(SETTINGS);
    const shed = { track: 0, browse: 0 };
    for (let i = 0; i < 20; i++) {
      shed.track += offer(limiter, 'track', 100).pressure;
      limiter.tick(OVERLOADED);
      shed.browse += offer(limiter, 'browse', 100).pressure;
    }
    expect(shed.track).toBe(0);
    expect(limiter.pressure).toBe(1);
    expect(offer(limiter, 'browse', 100).pressure).toBe(100);
    expect(shed.browse).toBeGreaterThan(1800);
  });

  it('once purchases stop arriving, track is no longer shed by the pressure (after the demand window)', () => {
    const limiter = new AdaptiveLimiter(SETTINGS);
    offer(limiter, 'buy', 1);
    for (let i = 0; i < 4; i++) {
      offer(limiter, 'track', 1);
      limiter.tick(OVERLOADED);
    }
    expect(limiter.pressure).toBe(2);
    expect(offer(limiter, 'track', 100).pressure).toBe(100);
    // No purchase for 1 s (10 intervals), still overloaded: track is the top class present.
    for (let i = 0; i < 10; i++) {
      offer(limiter, 'track', 1);
      limiter.tick(OVERLOADED);
    }
    expect(offer(limiter, 'track', 100).pressure).toBe(0);
    // A purchase arrives again: track is shed again.
    offer(limiter, 'buy', 1);
    expect(offer(limiter, 'track', 100).pressure).toBe(100);
  });

  it('throughput rising with in-flight (batching): the limit is not cut; once it stops rising, cut to 2 × the least in-flight serving it', () => {
    const limiter = new AdaptiveLimiter(SETTINGS);
    // Overloaded all along, purchases only; each interval more in flight serves more (10 ms each).
    for (let inFlight = 10; inFlight <= 45; inFlight += 5) {
      serve(limiter, 'buy', inFlight * 10, inFlight);
      limiter.tick(OVERLOADED);
      expect(limiter.limit).toBe(100);
    }
    expect(limiter.best).toBe(450);
    // It stops rising: more in flight serves no more.
    serve(limiter, 'buy', 450, 48);
    limiter.tick(OVERLOADED);
    expect(limiter.limit).toBe(90);
    // 93 % of the best at 40 in flight: the knee is lower.
    serve(limiter, 'buy', 420, 40);
    limiter.tick(OVERLOADED);
    expect(limiter.limit).toBe(80);
  });

  it('overloaded, the limit all in use and throughput still rising: the limit probes up, until it stops rising', () => {
    const limiter = new AdaptiveLimiter({ ...SETTINGS, initialLimit: 20 });
    // Purchases only; every interval fills the limit, and each purchase takes 10 ms whatever the in-flight.
    const limits: number[] = [];
    for (let i = 0; i < 6; i++) {
      const inFlight = limiter.limit;
      serve(limiter, 'buy', inFlight * 10, inFlight);
      limiter.tick(OVERLOADED);
      limits.push(limiter.limit);
    }
    expect(limits).toEqual([24, 28, 33, 38, 44, 50]); // + √limit each interval
    // 50 in flight serve no more than 44 did (the CPU is the bound): no growth, and no cut (2 × 44 is above it).
    serve(limiter, 'buy', 440, 50);
    limiter.tick(OVERLOADED);
    expect(limiter.limit).toBe(50);
  });

  it('remembers the best through a short calm, forgets it after 2 calm seconds', () => {
    // The best: 500 purchases in an interval at 5 in flight (a fast Redis); then a calm; then
    // overloaded with a slower Redis: 200 purchases an interval at 60 in flight.
    const run = (calmIntervals: number) => {
      const limiter = new AdaptiveLimiter(SETTINGS);
      serve(limiter, 'buy', 500, 5, 1);
      limiter.tick(CALM);
      for (let i = 0; i < calmIntervals; i++) limiter.tick(CALM);
      for (let i = 0; i < 5 && limiter.limit >= 60; i++) {
        serve(limiter, 'buy', 200, 60, 30);
        limiter.tick(OVERLOADED);
      }
      return limiter;
    };
    expect(run(12).limit).toBe(10); // 2 × 5, at the minimum: the old figure still pins it
    const forgot = run(20);
    expect(forgot.best).toBe(200);
    expect(forgot.limit).toBe(100); // 2 × 60 is above the limit: not cut
  });

  it('never goes below its minimum, and a limit pinned there recovers once calm', () => {
    const limiter = new AdaptiveLimiter(SETTINGS);
    // The best throughput was served at 2 in flight; overloaded since, with more in flight serving less: 2 × 2 < 10.
    serve(limiter, 'buy', 200, 2, 1);
    limiter.tick(CALM);
    for (let i = 0; i < 20; i++) {
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

  it('gives the purchases’ p99 since it was last asked, across intervals', () => {
    const limiter = new AdaptiveLimiter(SETTINGS);
    // Ten intervals of 100 purchases, one slow purchase in the first: the p99 of the 1,000, not the last interval's.
    for (let t = 0; t < 10; t++) {
      for (let i = 0; i < 100; i++) {
        limiter.admit('buy', true);
        limiter.done('buy', t === 0 && i === 0 ? 900 : 10 + (i % 10));
      }
      limiter.tick(CALM);
    }
    expect(limiter.latency.buyP99Ms).toBe(19);
    expect(limiter.takeBuyP99()).toBe(19);
    expect(limiter.takeBuyP99()).toBe(0);
    for (let i = 0; i < 50; i++) {
      limiter.admit('buy', true);
      limiter.done('buy', i === 0 ? 900 : 10);
    }
    // Fifty purchases, one slow: it is their p99.
    expect(limiter.takeBuyP99()).toBe(900);
  });
});
