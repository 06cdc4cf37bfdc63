/**
 * The gateway's one way to make a bounded LRU map (lru-cache), so that every
 * cache holds its bound, reads the injected clock, and costs memory only for
 * what it holds.
 *
 * lru-cache's `max` preallocates its arrays for every slot at construction
 * (and fills them, so the pages are resident): a gateway's twenty-odd caches,
 * bounded at 5,000–50,000 entries each, held about 10 MB and took tens of
 * milliseconds to build before the first request. The same bound as
 * `maxSize` with every entry counting one lets the storage grow with use.
 */
import { LRUCache } from 'lru-cache';

export interface BoundedCacheOptions {
  /** At most this many entries; past it the least recently used goes. */
  max: number;
  /** Default lifetime of an entry (ms); without it entries live until evicted (or their own `ttl` at set). */
  ttl?: number;
  /**
   * The clock lifetimes are measured on, read at every lookup (no resolution
   * cache), so an expiry is exact and a test's clock moves it. Default:
   * lru-cache's own (performance.now, read at most once a millisecond).
   */
  now?: () => number;
}

const one = () => 1;

/** Non-nullish: what lru-cache stores (undefined means "absent"). */
type Value = NonNullable<unknown>;

export function boundedCache<K extends Value, V extends Value>(o: BoundedCacheOptions): LRUCache<K, V> {
  if (!Number.isSafeInteger(o.max) || o.max < 1)
    throw new RangeError(`cache bound must be ≥ 1, got ${o.max}`);
  return new LRUCache<K, V>({
    maxSize: o.max,
    sizeCalculation: one,
    ...(o.ttl !== undefined && { ttl: o.ttl }),
    ...(o.now && { perf: { now: fromOne(o.now) }, ttlResolution: 0 }),
  });
}

/**
 * The injected clock as read from 1 at the cache's making: lru-cache takes a start time of 0 (or any
 * falsy one) for "no lifetime", so an entry set when a test clock read 0 would never expire. Only
 * differences matter to lifetimes, so the shift changes none.
 */
function fromOne(now: () => number): () => number {
  const origin = now() - 1;
  return () => now() - origin;
}

export type { LRUCache as BoundedCache } from 'lru-cache';
