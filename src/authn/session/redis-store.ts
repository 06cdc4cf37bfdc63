/**
 * Server-side sessions in Redis. The cookie holds only a sealed random id;
 * the session (with the id_token for logout hints) lives under
 * `kube-bastion:session:<id>` and expires with it. Refresh takes a Redis lock
 * whose lease covers the IdP round trip, so rotating refresh tokens are
 * redeemed once even when several replicas see the same session expire.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { serviceUnavailable } from '../../errors.js';
import type { SealedBox } from './sealed-box.js';
import { generation, isSession, nowSeconds, type Session } from './session.js';
import type { SessionStore } from './store.js';

const PREFIX = 'kube-bastion:';
/** Long enough for a slow IdP token endpoint; a crashed holder frees it after this. */
const LOCK_LEASE_MS = 30_000;
const LOCK_POLL_MS = 50;
/** Other replicas see a logout or refresh within this long. */
const LOCAL_CACHE_MS = 1_000;

const RELEASE = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;

export class RedisSessionStore implements SessionStore {
  private readonly redis: Redis;
  private readonly handles = new LRUCache<string, string>({ max: 10_000, ttl: 10 * 60_000 });
  private readonly recent = new LRUCache<string, Session>({ max: 10_000, ttl: LOCAL_CACHE_MS });
  private readonly flights = new Map<string, Promise<Session | undefined>>();

  constructor(
    url: string,
    private readonly box: SealedBox,
  ) {
    this.redis = new Redis(url, {
      lazyConnect: false,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: true,
      connectTimeout: 2000,
    });
    this.redis.on('error', () => undefined); // reported per request as 503; ioredis reconnects by itself
  }

  private key(sid: string): string {
    return `${PREFIX}session:${sid}`;
  }

  private async call<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch {
      throw serviceUnavailable('the session store (Redis) is unavailable; try again');
    }
  }

  private async sidOf(cookieValue: string): Promise<string | undefined> {
    const known = this.handles.get(cookieValue);
    if (known) return known;
    try {
      const v = (await this.box.open(cookieValue)) as { sid?: unknown };
      if (typeof v?.sid !== 'string') return undefined;
      this.handles.set(cookieValue, v.sid);
      return v.sid;
    } catch {
      return undefined;
    }
  }

  private async read(sid: string): Promise<Session | undefined> {
    const text = await this.call(() => this.redis.get(this.key(sid)));
    if (!text) return undefined;
    const value: unknown = JSON.parse(text);
    return isSession(value) && value.sid === sid ? value : undefined;
  }

  async load(cookieValue: string): Promise<Session | undefined> {
    const sid = await this.sidOf(cookieValue);
    if (!sid) return undefined;
    const hit = this.recent.get(sid);
    if (hit) return hit;
    const session = await this.read(sid);
    if (session) this.recent.set(sid, session);
    return session;
  }

  async save(session: Session): Promise<string> {
    const ttlMs = (session.exp - nowSeconds()) * 1000;
    if (ttlMs > 0)
      await this.call(() => this.redis.set(this.key(session.sid), JSON.stringify(session), 'PX', ttlMs));
    this.recent.set(session.sid, session);
    return this.box.seal({ sid: session.sid });
  }

  async destroy(session: Session): Promise<void> {
    this.recent.delete(session.sid);
    await this.call(() => this.redis.del(this.key(session.sid)));
  }

  singleFlight(session: Session, refresh: () => Promise<Session>): Promise<Session | undefined> {
    let flight = this.flights.get(session.sid);
    if (!flight) {
      flight = this.lockedRefresh(session, refresh).finally(() => this.flights.delete(session.sid));
      this.flights.set(session.sid, flight);
    }
    return flight;
  }

  private async lockedRefresh(
    session: Session,
    refresh: () => Promise<Session>,
  ): Promise<Session | undefined> {
    const lock = `${PREFIX}refresh-lock:${session.sid}`;
    const token = randomBytes(16).toString('base64url');
    const deadline = Date.now() + LOCK_LEASE_MS;
    while (Date.now() < deadline) {
      const got = await this.call(() => this.redis.set(lock, token, 'PX', LOCK_LEASE_MS, 'NX'));
      if (got === 'OK') {
        try {
          const current = await this.read(session.sid);
          if (settled(current, session)) return current;
          const next = await refresh();
          await this.save(next);
          return next;
        } finally {
          await this.redis.eval(RELEASE, 1, lock, token).catch(() => undefined);
        }
      }
      await sleep(LOCK_POLL_MS);
      const current = await this.read(session.sid);
      if (settled(current, session)) return current;
    }
    throw serviceUnavailable('session refresh is taking too long; try again');
  }

  isStale(cookieValue: string): boolean {
    return this.box.isStale(cookieValue);
  }

  close(): Promise<void> {
    this.redis.disconnect();
    return Promise.resolve();
  }
}

/** Someone refreshed (or signed out) while we waited for the lock. */
function settled(current: Session | undefined, seen: Session): boolean {
  return !current || generation(current) !== generation(seen);
}

export { newSessionId } from './session-id.js';
