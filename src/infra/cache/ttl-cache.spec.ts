import { describe, expect, it } from '@jest/globals';
import { TtlCache } from './ttl-cache.js';

describe('TtlCache', () => {
  it('loads once for concurrent callers and serves the value until it expires', async () => {
    let now = 0;
    let loads = 0;
    const cache = new TtlCache<string, number>(1000, 10, () => now);
    const load = async (): Promise<number> => ++loads;
    const values = await Promise.all(Array.from({ length: 50 }, () => cache.get('a', load)));
    expect(new Set(values)).toEqual(new Set([1]));
    now = 999;
    expect(await cache.get('a', load)).toBe(1);
    now = 1000;
    expect(await cache.get('a', load)).toBe(2);
  });

  it('does not keep a failed load', async () => {
    const cache = new TtlCache<string, number>(1000);
    await expect(cache.get('a', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(await cache.get('a', async () => 7)).toBe(7);
  });

  it('drops an entry on delete', async () => {
    const cache = new TtlCache<string, number>(1000);
    await cache.get('a', async () => 1);
    cache.delete('a');
    expect(await cache.get('a', async () => 2)).toBe(2);
  });
});
