import { describe, expect, it } from '@jest/globals';
import { partOf, slotOf, tagInPart } from './slots.js';

describe('cluster key slots', () => {
  it('match the values Redis computes (CLUSTER KEYSLOT)', () => {
    expect(slotOf('foo')).toBe(12182);
    expect(slotOf('123456789')).toBe(12739);
    expect(slotOf('{user1000}.following')).toBe(slotOf('user1000'));
    expect(slotOf('foo{}{bar}')).toBe(slotOf('foo{}{bar}'.slice(0)));
    expect(slotOf('{}x')).toBe(slotOf('{}x'));
  });

  it('choose a tag in the part of the slot space asked for, the same every time', () => {
    for (let part = 0; part < 3; part++) {
      const tag = tagInPart('fsq-orders', part, 3);
      expect(partOf(slotOf(`{${tag}}`), 3)).toBe(part);
      expect(tagInPart('fsq-orders', part, 3)).toBe(tag);
    }
    expect(tagInPart('anything', 0, 1)).toBe('anything');
  });
});
