/**
 * Pods and Nodes are read one at a time when a request needs them — a large
 * cluster's pods are never all held — and reused for a short TTL. Concurrent
 * lookups of one key share a single API call; "not found" is remembered
 * briefly too; when the API server fails, the last known answer is served
 * for up to `staleForMs` rather than failing the request.
 */
import { boundedCache, type BoundedCache } from '../bounded-cache.js';
import { SingleFlight } from '../single-flight.js';

export interface OnDemandLookupOptions<T> {
  /** Reads the object; resolves undefined when it does not exist (404). */
  fetch(key: string): Promise<T | undefined>;
  ttlMs: number;
  /** How long "not found" is reused. */
  notFoundTtlMs: number;
  /** How long an expired answer may still be served while the API server fails. */
  staleForMs: number;
  /** Entries kept at most. */
  max: number;
  now?: () => number;
}

interface Entry<T> {
  value: T | undefined;
  at: number;
}

export interface LookupStats {
  hits: number;
  misses: number;
  errors: number;
  /** Answers served past their TTL because the API server failed. */
  stale: number;
  /** Entries held now (at most `max`). */
  entries: number;
}

export class OnDemandLookup<T> {
  private readonly counts = { hits: 0, misses: 0, errors: 0, stale: 0 };
  private readonly entries: BoundedCache<string, Entry<T>>;
  private readonly pending = new SingleFlight<string, T | undefined>();
  private readonly now: () => number;

  constructor(private readonly opts: OnDemandLookupOptions<T>) {
    this.entries = boundedCache({ max: opts.max });
    this.now = opts.now ?? Date.now;
  }

  /** The object, from cache when younger than its TTL (and than `maxAgeMs`, when given). */
  get(key: string, maxAgeMs = Infinity): Promise<T | undefined> {
    const entry = this.entries.get(key);
    const age = entry ? this.now() - entry.at : Infinity;
    const ttl = entry?.value === undefined ? this.opts.notFoundTtlMs : this.opts.ttlMs;
    if (entry && age < Math.min(ttl, maxAgeMs)) {
      this.counts.hits++;
      return Promise.resolve(entry.value);
    }
    const inFlight = this.pending.joining(key);
    if (inFlight) {
      this.counts.hits++;
      return inFlight;
    }
    this.counts.misses++;
    return this.pending.run(key, () =>
      this.opts.fetch(key).then(
        (value) => {
          this.entries.set(key, { value, at: this.now() });
          return value;
        },
        (err: unknown) => {
          this.counts.errors++;
          if (entry && age < this.opts.staleForMs) {
            this.counts.stale++;
            return entry.value;
          }
          throw err;
        },
      ),
    );
  }

  get stats(): LookupStats {
    return { ...this.counts, entries: this.entries.size };
  }

  /** Forgets everything (tests, or after a credentials change). */
  clear(): void {
    this.entries.clear();
  }
}
