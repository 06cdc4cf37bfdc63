/**
 * Handoff ids already redeemed, remembered until the handoff would have
 * expired anyway: a handoff works once.
 *
 * In process (cookie store): a bounded LRU, so single use holds on the
 * replica that redeemed it; a copy redeemed on another replica within the
 * handoff's seconds of life is refused only by its browser binding (the
 * thief also needs the victim's nonce cookie). Past `max` live ids the
 * oldest are forgotten early — the binding still holds for them.
 *
 * Redis (`session.store: redis`): `SET key NX PX`, one atomic step, so it
 * holds across every replica.
 */
import { boundedCache, type BoundedCache } from '../../bounded-cache.js';
import type { Redis } from 'ioredis';
import { serviceUnavailable } from '../../errors.js';

export interface UsedIds {
  /** True the first time an id is claimed before `expiresAt` (ms since the epoch); false ever after. */
  claim(id: string, expiresAt: number): Promise<boolean>;
  close(): Promise<void>;
}

export class MemoryUsedIds implements UsedIds {
  private readonly used: BoundedCache<string, true>;

  constructor(
    private readonly now: () => number,
    max = 50_000,
  ) {
    // Expiry is read against the injected clock, uncached (ttlResolution 0), when an id is looked up.
    this.used = boundedCache<string, true>({ max, ttl: 1, now });
  }

  claim(id: string, expiresAt: number): Promise<boolean> {
    if (this.used.has(id)) return Promise.resolve(false);
    this.used.set(id, true, { ttl: Math.max(1, expiresAt - this.now()) });
    return Promise.resolve(true);
  }

  close(): Promise<void> {
    this.used.clear();
    return Promise.resolve();
  }
}

const KEY_PREFIX = 'kube-bastion:handoff:';

export class RedisUsedIds implements UsedIds {
  constructor(
    private readonly redis: Redis,
    private readonly now: () => number,
  ) {}

  /** Its own connection (the session store's is private to it); loaded only with `store: redis`. */
  static async connect(url: string, now: () => number): Promise<RedisUsedIds> {
    const { Redis } = await import('ioredis');
    const redis = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 2000 });
    redis.on('error', () => undefined); // answered per request as 503; ioredis reconnects by itself
    return new RedisUsedIds(redis, now);
  }

  async claim(id: string, expiresAt: number): Promise<boolean> {
    const ttl = Math.max(1, Math.ceil(expiresAt - this.now()));
    try {
      return (await this.redis.set(KEY_PREFIX + id, '1', 'PX', ttl, 'NX')) === 'OK';
    } catch {
      throw serviceUnavailable('the session store (Redis) is unavailable; try again');
    }
  }

  close(): Promise<void> {
    this.redis.disconnect();
    return Promise.resolve();
  }
}
