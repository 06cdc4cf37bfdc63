/**
 * Verified credentials remembered by a hash of the token, so a CI burst pays
 * for one signature check (or one TokenReview) and then costs a hash lookup.
 * The token itself is never kept: a memory dump shows only SHA-256 digests.
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';

export class TokenCache<V extends object> {
  private readonly entries: LRUCache<string, { value: V; until: number }>;

  constructor(max = 10_000) {
    this.entries = new LRUCache({ max });
  }

  static key(token: string): string {
    return createHash('sha256').update(token).digest('base64url');
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

  clear(): void {
    this.entries.clear();
  }
}
