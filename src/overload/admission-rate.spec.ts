import { describe, expect, it } from '@jest/globals';
import { doorSignals, nextRate, type AdmissionSignals, type AdmissionRateSettings } from './admission-rate.js';
import type { DoorState } from './doors.js';

const SETTINGS: AdmissionRateSettings = { minRate: 10, maxRate: 100_000, targetP99Ms: 20, backlogBound: 2000 };
const CALM: AdmissionSignals = {
  copies: 2,
  overloadedCopies: 0,
  purchasesShedPerSecond: 0,
  purchaseP99Ms: 5,
  inFlight: 10,
  limit: 200,
  backlog: 0,
  drainPerSecond: 1000,
};

/**
 * A purchase path of `capacity` purchases per second in the API (p99 grows as
 * 5 ms / (1 − load), shed beyond capacity) and workers persisting `drain` per
 * second; each admitted shopper buys once. Runs the law for `steps` seconds.
 */
function simulate(capacity: number, drain: number, steps: number, start = 50) {
  let rate = start;
  let backlog = 0;
  const trace: { rate: number; shed: number; p99: number; backlog: number; reason: string }[] = [];
  for (let t = 0; t < steps; t++) {
    const load = Math.min(rate / capacity, 0.99);
    const shed = Math.max(0, rate - capacity);
    const p99 = 5 / (1 - load);
    backlog = Math.max(0, backlog + Math.min(rate, capacity) - drain);
    const step = nextRate(
      rate,
      {
        ...CALM,
        overloadedCopies: shed > 0 ? 2 : 0,
        purchasesShedPerSecond: shed,
        purchaseP99Ms: p99,
        inFlight: Math.round((rate * p99) / 1000),
        limit: 1000,
        backlog,
        drainPerSecond: drain,
      },
      SETTINGS,
    );
    trace.push({ rate, shed, p99, backlog, reason: step.reason });
    rate = step.rate;
  }
  return trace;
}

describe('nextRate', () => {
  it('each rule in its order', () => {
    expect(nextRate(1000, { ...CALM, copies: 0 }, SETTINGS)).toEqual({ rate: 1000, reason: 'no-data' });
    expect(nextRate(1000, { ...CALM, purchasesShedPerSecond: 3 }, SETTINGS)).toEqual({ rate: 700, reason: 'shed' });
    // An overloaded copy holds the rate; only the purchases' own signals lower it.
    expect(nextRate(1000, { ...CALM, overloadedCopies: 1 }, SETTINGS)).toEqual({ rate: 1000, reason: 'overloaded' });
    expect(nextRate(1000, { ...CALM, overloadedCopies: 1, purchasesShedPerSecond: 3 }, SETTINGS).reason).toBe('shed');
    expect(nextRate(1000, { ...CALM, overloadedCopies: 2, purchaseP99Ms: 25 }, SETTINGS).reason).toBe('latency');
    expect(nextRate(1000, { ...CALM, purchaseP99Ms: 25 }, SETTINGS)).toEqual({ rate: 800, reason: 'latency' });
    expect(nextRate(1000, { ...CALM, purchaseP99Ms: 400 }, SETTINGS)).toEqual({ rate: 500, reason: 'latency' });
    expect(nextRate(1000, { ...CALM, backlog: 3000, drainPerSecond: 600 }, SETTINGS)).toEqual({
      rate: 600,
      reason: 'backlog',
    });
    expect(nextRate(1000, { ...CALM, inFlight: 170 }, SETTINGS)).toEqual({ rate: 1000, reason: 'near-limit' });
    // 10 % × headroom (1 − 5/20)
    expect(nextRate(1000, CALM, SETTINGS)).toEqual({ rate: 1075, reason: 'headroom' });
    expect(nextRate(1, CALM, SETTINGS).rate).toBe(10);
    expect(nextRate(100_000, CALM, SETTINGS).rate).toBe(100_000);
  });

  it('finds the API’s capacity from below and stays just under it: no shedding once settled', () => {
    const trace = simulate(1000, 100_000, 240);
    const settled = trace.slice(120);
    expect(Math.max(...settled.map((s) => s.shed))).toBe(0);
    expect(Math.min(...settled.map((s) => s.rate))).toBeGreaterThan(500);
    expect(Math.max(...settled.map((s) => s.p99))).toBeLessThanOrEqual(SETTINGS.targetP99Ms * 1.1);
  });

  it('when the workers are the bottleneck, admits at about the drain and keeps the backlog bounded', () => {
    const trace = simulate(5000, 800, 300);
    const settled = trace.slice(150);
    const mean = settled.reduce((sum, s) => sum + s.rate, 0) / settled.length;
    expect(mean).toBeGreaterThan(600);
    expect(mean).toBeLessThan(1000);
    expect(Math.max(...settled.map((s) => s.backlog))).toBeLessThan(SETTINGS.backlogBound * 2);
  });

  it('holds, and does not sink, while the copies are overloaded by what admitting fewer would not relieve', () => {
    // Copies busy with the room's polls; purchases fast, none shed: the rate neither falls nor grows.
    let rate = 500;
    for (let t = 0; t < 60; t++) {
      rate = nextRate(rate, { ...CALM, overloadedCopies: 2, purchaseP99Ms: 10 }, SETTINGS).rate;
    }
    expect(rate).toBe(500);
  });

  it('backs off quickly from a crowd let in too fast', () => {
    const trace = simulate(1000, 100_000, 30, 5000);
    const firstCalm = trace.findIndex((s) => s.shed === 0);
    expect(firstCalm).toBeGreaterThan(0);
    expect(firstCalm).toBeLessThanOrEqual(6);
  });
});

describe('doorSignals', () => {
  it('sums the copies and takes the worst p99; in flight counts purchases only (a crowd of polls is not near the limit)', () => {
    const door = (over: Partial<DoorState>): DoorState => ({
      copy: 'a',
      at: 0,
      limit: 100,
      inFlight: 30,
      inFlightBuy: 10,
      pressure: 0,
      overloaded: false,
      loopDelayMs: 1,
      elu: 0.5,
      purchaseP99Ms: 4,
      shedPerSecond: 0,
      purchasesShedPerSecond: 0,
      purchasesPerSecond: 100,
      ...over,
    });
    expect(doorSignals([door({}), door({ overloaded: true, purchaseP99Ms: 9, purchasesShedPerSecond: 2 })])).toEqual({
      copies: 2,
      overloadedCopies: 1,
      purchasesShedPerSecond: 2,
      purchaseP99Ms: 9,
      inFlight: 20,
      limit: 200,
    });
  });
});
