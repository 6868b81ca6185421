import { describe, expect, it } from '@jest/globals';
import { InFlightBudget, itemsOf } from './in-flight-budget.js';

describe('itemsOf', () => {
  it('counts a batch job’s tickets, an event job’s events through its rows, one for a job without arrays', () => {
    const ticket = { orderId: 'o', saleId: 's', userId: 'u', quantity: 1, admittedAt: 1 };
    expect(itemsOf({ tickets: [ticket, ticket, ticket] })).toBe(3);
    expect(
      itemsOf({
        rows: [
          { eventId: 'a', payloads: [{}, {}] },
          { eventId: 'b', payloads: [{}] },
        ],
      }),
    ).toBe(3);
    expect(itemsOf({ events: [{}, {}] })).toBe(2);
    expect(itemsOf(ticket)).toBe(1);
    expect(itemsOf({})).toBe(1);
    expect(itemsOf(null)).toBe(1);
  });
});

describe('InFlightBudget', () => {
  const budget = (maxItems: number, maxJobs: number) => {
    const set: number[] = [];
    const b = new InFlightBudget(maxItems, maxJobs, (n) => set.push(n));
    return { b, set, last: () => set.at(-1) ?? b.concurrency };
  };

  it('starts at one job: no job size is known yet', () => {
    expect(budget(100, 500).b.concurrency).toBe(1);
  });

  it('lets in as many jobs as the room holds at the largest size seen, up to the concurrency', () => {
    const { b, last } = budget(100, 500);
    b.take(20); // 20 held, room for 4 more of 20
    expect(last()).toBe(5);
    b.take(20);
    b.take(20);
    b.take(20);
    b.take(20); // 100 held by 5: nothing more
    expect(last()).toBe(5);
    b.give(20);
    b.give(20); // 60 held by 3: room for 2
    expect(last()).toBe(5);
    const small = budget(100_000, 500);
    small.b.take(1);
    expect(small.last()).toBe(500);
  });

  it('keeps the largest size seen when smaller jobs follow (forgotten only slowly)', () => {
    const { b, last } = budget(1000, 500);
    b.take(500);
    b.give(500);
    b.take(1);
    // Sized by the 500 still (two of that size fit beside the one running), not by 1 (500 jobs).
    expect(last()).toBe(3);
  });

  it('a job larger than the budget runs alone', () => {
    const { b, last } = budget(100, 500);
    b.take(1000);
    expect(last()).toBe(1);
    b.give(1000);
    expect(last()).toBe(1);
    expect(b.held).toBe(0);
  });
});
