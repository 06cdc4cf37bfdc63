/**
 * Verified credentials remembered by a hash of the token, so a CI burst pays
 * for one signature check (or one TokenReview), even when its requests
 * arrive together, and then costs a hash lookup.
 * The token itself is never kept: a memory dump shows only SHA-256 digests.
 */
import { hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';

export class TokenCache<V extends object> {
  private readonly entries: LRUCache<string, { value: V; until: number }>;
  private readonly pending = new Map<string, Promise<V>>();

  constructor(max = 10_000) {
    this.entries = new LRUCache({ max });
  }

  /** One-shot hash: half the cost of a Hash object, and this runs on every bearer request. */
  static key(token: string): string {
    return hash('sha256', token, 'base64url');
  }

  get(key: string, now = Date.now()): V | undefined {
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    if (hit.until <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return hit.value;
  }

  /** Remembers `value` until `until` (ms since epoch); nothing when that is already past. */
  set(key: string, value: V, until: number, now = Date.now()): void {
    if (until > now) this.entries.set(key, { value, until });
  }

  /**
   * The cached value, else the one `compute` produces — computed once however
   * many callers ask for the same key at the same time. Failures are not kept.
   */
  remember(key: string, compute: () => Promise<{ value: V; until: number }>): Promise<V> {
    const hit = this.get(key);
    if (hit) return Promise.resolve(hit);
    let flight = this.pending.get(key);
    if (!flight) {
      flight = compute()
        .then(({ value, until }) => {
          this.set(key, value, until);
          return value;
        })
        .finally(() => this.pending.delete(key));
      this.pending.set(key, flight);
    }
    return flight;
  }

  clear(): void {
    this.entries.clear();
  }
}
