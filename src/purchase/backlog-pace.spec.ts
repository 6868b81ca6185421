import { describe, expect, it } from '@jest/globals';
import { pacedCap } from './backlog-pace.js';

/** Share of purchases refused at backlog b (refused when b ≥ the drawn cap), over evenly spread draws. */
function refusedShare(cap: number, fromPercent: number, backlog: number): number {
  const draws = 10_000;
  let refused = 0;
  for (let i = 0; i < draws; i++) if (backlog >= pacedCap(cap, fromPercent, i / draws)) refused++;
  return refused / draws;
}

describe('pacedCap', () => {
  it('refuses none below the start, a growing share above it, all at the cap', () => {
    expect(refusedShare(1000, 50, 499)).toBe(0);
    expect(refusedShare(1000, 50, 500)).toBeCloseTo(1 / 501, 3);
    expect(refusedShare(1000, 50, 750)).toBeCloseTo(251 / 501, 2);
    expect(refusedShare(1000, 50, 999)).toBeCloseTo(500 / 501, 2);
    expect(refusedShare(1000, 50, 1000)).toBe(1);
    expect(refusedShare(1000, 50, 5000)).toBe(1);
  });

  it('stays within [start, cap] for any draw', () => {
    for (const r of [0, 0.25, 0.5, 0.999999]) {
      const c = pacedCap(20_000, 50, r);
      expect(c).toBeGreaterThanOrEqual(10_000);
      expect(c).toBeLessThanOrEqual(20_000);
    }
  });

  it('is the hard cap alone at 100 % (off), and for a cap too small to pace', () => {
    expect(pacedCap(20_000, 100, 0)).toBe(20_000);
    expect(pacedCap(1, 50, 0)).toBe(1);
  });
});
