/**
 * Session affinity (`spec.sessionAffinity: ClientIP`): a client keeps its
 * endpoint until it has been idle longer than the timeout, or the endpoint is
 * gone, ejected or no longer in the tier traffic goes to (the picker checks).
 *
 * Memory is bounded: the Map is kept in least-recently-used order (a hit moves
 * the entry to the end), so expired entries are always at the front and are
 * dropped as new ones arrive; past `maxEntries` the oldest goes regardless.
 */
import type { EndpointRecord } from './endpoint-set.js';

/** Which identity affinity sticks to (`upstream.loadBalancing.affinityKey`). */
export type AffinityKey = 'client-ip' | 'user';

interface Entry {
  record: EndpointRecord;
  lastUsed: number;
}

export const DEFAULT_MAX_AFFINITY_ENTRIES = 10_000;

/**
 * The key a request's affinity is stored under. With `user`, an authenticated
 * user keeps one endpoint across addresses (mobile clients, NAT pools);
 * anonymous requests still stick by address. The prefixes keep a user named
 * like an IP from sharing that IP's entry.
 */
export function affinityClientKey(affinityKey: AffinityKey, client: { ip: string; user?: string }): string {
  if (affinityKey === 'user' && client.user !== undefined && client.user !== '') return `user:${client.user}`;
  return `ip:${client.ip}`;
}

export class AffinityTable {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly maxEntries = DEFAULT_MAX_AFFINITY_ENTRIES) {}

  get size(): number {
    return this.entries.size;
  }

  /** The client's endpoint if it used it within `timeoutMs`; refreshes its idle timer. */
  get(clientKey: string, now: number, timeoutMs: number): EndpointRecord | undefined {
    const entry = this.entries.get(clientKey);
    if (!entry) return undefined;
    this.entries.delete(clientKey);
    if (now - entry.lastUsed > timeoutMs || entry.record.removed) return undefined;
    entry.lastUsed = now;
    this.entries.set(clientKey, entry);
    return entry.record;
  }

  set(clientKey: string, record: EndpointRecord, now: number, timeoutMs: number): void {
    this.entries.delete(clientKey);
    this.entries.set(clientKey, { record, lastUsed: now });
    this.evict(now, timeoutMs);
  }

  private evict(now: number, timeoutMs: number): void {
    for (const [key, entry] of this.entries) {
      const expired = now - entry.lastUsed > timeoutMs || entry.record.removed;
      if (!expired && this.entries.size <= this.maxEntries) return;
      this.entries.delete(key);
    }
  }
}
