import { LRUCache } from 'lru-cache';

/**
 * A small in-process read cache (lru-cache with `fetch()`): a time to live,
 * least-recently-used eviction beyond `max` entries, and single flight:
 * while a key is being loaded every caller for it awaits the same load, so a
 * crowd hitting an expired entry causes one query, not thousands. A failed
 * load is not kept. With a TTL of 0 nothing is cached (every call loads).
 */
export class TtlCache<K extends object | string | number, V> {
  private readonly lru: LRUCache<K, { value: V }> | null;

  constructor(
    private readonly load: (key: K) => Promise<V>,
    options: { ttlMs: number; max?: number; now?: () => number },
  ) {
    this.lru =
      options.ttlMs > 0
        ? new LRUCache<K, { value: V }>({
            max: options.max ?? 10_000,
            ttl: options.ttlMs,
            // Values may be null ("no such sale"): each is boxed.
            fetchMethod: async (key) => ({ value: await this.load(key) }),
            ...(options.now ? { perf: { now: options.now }, ttlResolution: 0 } : {}),
          })
        : null;
  }

  async get(key: K): Promise<V> {
    if (!this.lru) return this.load(key);
    const boxed = await this.lru.fetch(key);
    return boxed!.value;
  }

  /** The value when it is cached and fresh, else undefined (never loads: for callers that cannot wait). */
  peek(key: K): V | undefined {
    return this.lru?.get(key)?.value;
  }

  delete(key: K): void {
    this.lru?.delete(key);
  }

  clear(): void {
    this.lru?.clear();
  }
}
