import { describe, expect, it } from '@jest/globals';
import { OrderIdTags, ULID, ulidFactory, ulidTime } from './ids.js';

describe('OrderIdTags', () => {
  const tags = new OrderIdTags('a-secret-of-at-least-32-characters!!');
  const next = ulidFactory();
  const alice = '5f0c7a52-3d6f-4b8e-9a51-2f4c1d9e8b70';
  const bob = '9b2e4c61-8a7d-4f3e-b5c2-7d1a6e0f4c93';

  it('issues ULIDs bound to their shopper, in the order they were made', () => {
    const ids = Array.from({ length: 2000 }, () => tags.issue(next(), alice));
    for (const id of ids) expect(id).toMatch(ULID);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(ids.every((id) => tags.issuedTo(id, alice))).toBe(true);
    expect(ids.some((id) => tags.issuedTo(id, bob))).toBe(false);
    expect(Math.abs(ulidTime(ids[0]!) - Date.now())).toBeLessThan(5000);
  });

  it('refuses made-up ids, altered ids and ids of another secret', () => {
    const id = tags.issue(next(), alice);
    const altered = id.slice(0, 12) + (id[12] === 'A' ? 'B' : 'A') + id.slice(13);
    expect(tags.issuedTo(altered, alice)).toBe(false);
    expect(tags.issuedTo(next(), alice)).toBe(false);
    expect(tags.issuedTo('not-an-id', alice)).toBe(false);
    expect(new OrderIdTags('another-secret-of-at-least-32-chars!').issuedTo(id, alice)).toBe(false);
  });
});
