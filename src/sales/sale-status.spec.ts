import { describe, expect, it } from '@jest/globals';
import { effectiveEnd, saleStatus } from './sale-status.js';

const sale = { startsAt: new Date(1000), endsAt: new Date(2000), endedAt: null };

describe('saleStatus', () => {
  it.each([
    [500, 10, 'UPCOMING'],
    [1000, 10, 'ACTIVE'],
    [1999, 10, 'ACTIVE'],
    [1500, 0, 'SOLD_OUT'],
    [500, 0, 'SOLD_OUT'],
    [2000, 10, 'ENDED'],
    [2000, 0, 'ENDED'],
  ] as const)('at %d ms with %d remaining is %s', (now, remaining, expected) => {
    expect(saleStatus(sale, remaining, new Date(now))).toBe(expected);
  });

  it('counts an early end', () => {
    const ended = { ...sale, endedAt: new Date(1200) };
    expect(effectiveEnd(ended)).toEqual(new Date(1200));
    expect(saleStatus(ended, 5, new Date(1300))).toBe('ENDED');
  });
});
