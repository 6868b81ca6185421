import { describe, expect, it } from '@jest/globals';
import { TtlCache } from './ttl-cache.js';

describe('TtlCache', () => {
  it('loads once for concurrent callers and serves the value until it expires', async () => {
    let now = 1_000_000;
    let loads = 0;
    const cache = new TtlCache<string, number>(async () => ++loads, { ttlMs: 1000, max: 10, now: () => now });
    const values = await Promise.all(Array.from({ length: 50 }, () => cache.get('a')));
    expect(new Set(values)).toEqual(new Set([1]));
    now += 999;
    expect(await cache.get('a')).toBe(1);
    now += 2;
    expect(await cache.get('a')).toBe(2);
  });

  it('does not keep a failed load', async () => {
    let fail = true;
    const cache = new TtlCache<string, number>(async () => (fail ? Promise.reject(new Error('down')) : 7), {
      ttlMs: 1000,
    });
    await expect(cache.get('a')).rejects.toThrow('down');
    fail = false;
    expect(await cache.get('a')).toBe(7);
  });

  it('keeps null values, drops an entry on delete, evicts the least recently used beyond max', async () => {
    const loads: string[] = [];
    const cache = new TtlCache<string, string | null>(
      async (key) => {
        loads.push(key);
        return key === 'none' ? null : key;
      },
      { ttlMs: 60_000, max: 2 },
    );
    expect(await cache.get('none')).toBeNull();
    expect(await cache.get('none')).toBeNull();
    await cache.get('a');
    await cache.get('none'); // used: 'a' is now the least recent
    await cache.get('b'); // evicts 'a'
    await cache.get('a');
    cache.delete('b');
    await cache.get('b');
    expect(loads).toEqual(['none', 'a', 'b', 'a', 'b']);
  });

  it('caches nothing with a TTL of 0', async () => {
    let loads = 0;
    const cache = new TtlCache<string, number>(async () => ++loads, { ttlMs: 0 });
    expect([await cache.get('a'), await cache.get('a')]).toEqual([1, 2]);
  });
});
