/**
 * Server-side sessions in Redis. The cookie holds only a sealed random id;
 * the session (with the id_token for logout hints) lives under
 * `kube-bastion:session:<id>` and expires with it. Refresh takes a Redis lock
 * whose lease covers the IdP round trip, so rotating refresh tokens are
 * redeemed once even when several replicas see the same session expire.
 *
 * Only a sign-in creates a key; every later write is a compare-and-set on the
 * session's refresh generation (redis-scripts.ts), so a request that was in
 * flight during a sign-out cannot write the session back, and a stale
 * "last seen" update cannot undo a refresh.
 *
 * Redis that stalls or goes away costs a request at most `commandTimeoutMs`:
 * no command waits in an offline queue, none is retried on another connection,
 * and the caller gets a 503 that says the session store is unavailable.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { boundedCache, type BoundedCache } from '../../bounded-cache.js';
import { serviceUnavailable } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import { RELEASE_LOCK, UPDATE_IF_GENERATION } from './redis-scripts.js';
import type { SealedBox } from './sealed-box.js';
import { generation, isSession, type Session } from './session.js';
import { type SessionStore, type UpdateResult } from './store.js';
import { SingleFlight } from '../../single-flight.js';

const PREFIX = 'kube-bastion:';
/** Long enough for a slow IdP token endpoint; a crashed holder frees it after this. */
const LOCK_LEASE_MS = 30_000;
const LOCK_POLL_MS = 50;
/** Other replicas see a logout or refresh within this long. */
export const LOCAL_CACHE_MS = 1_000;
/** How long a replica remembers the sessions it ended itself (longer than any read still under way). */
const ENDED_MEMORY_MS = 10 * 60_000;

export interface RedisStoreOptions {
  url: string;
  /** Seals the handle the cookie carries. */
  box: SealedBox;
  /** Longest wait for one Redis command, or for a connection to come back, before a 503. */
  commandTimeoutMs: number;
  logger?: Logger;
  now?: () => number;
}

export class RedisSessionStore implements SessionStore {
  private readonly redis: Redis;
  private readonly box: SealedBox;
  private readonly now: () => number;
  private readonly commandTimeoutMs: number;
  private readonly handles = boundedCache<string, string>({ max: 10_000, ttl: 10 * 60_000 });
  private readonly recent: BoundedCache<string, Session>;
  /** Sessions this replica ended: never read back into `recent` (a read under way may have seen them). */
  private readonly ended: BoundedCache<string, true>;
  private readonly flights = new SingleFlight<string, Session | undefined>();
  private reconnected?: Promise<void>;
  private readonly health: StoreHealth;

  constructor(o: RedisStoreOptions) {
    this.box = o.box;
    this.now = o.now ?? Date.now;
    this.commandTimeoutMs = o.commandTimeoutMs;
    this.recent = boundedCache({ max: 10_000, ttl: LOCAL_CACHE_MS, now: this.now });
    this.ended = boundedCache({ max: 10_000, ttl: ENDED_MEMORY_MS, now: this.now });
    this.redis = new Redis(o.url, {
      lazyConnect: false,
      connectTimeout: o.commandTimeoutMs,
      commandTimeout: o.commandTimeoutMs,
      // A queued command would wait for as long as Redis is away; call() bounds that wait itself.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
    });
    this.health = new StoreHealth(o.logger);
    // ioredis reconnects by itself; every failed command is reported to its caller as a 503.
    this.redis.on('error', (err: Error) => this.health.failed(err));
  }

  private key(sid: string): string {
    return `${PREFIX}session:${sid}`;
  }

  /** Runs a command once connected (waiting at most commandTimeoutMs for that); any failure is a 503. */
  private async call<T>(op: () => Promise<T>): Promise<T> {
    try {
      await this.connected();
      const result = await op();
      this.health.ok();
      return result;
    } catch (err) {
      this.health.failed(err as Error);
      throw serviceUnavailable(
        'your sign-in session cannot be checked: the session store (Redis) is not answering; try again in a moment',
      );
    }
  }

  private async connected(): Promise<void> {
    const status = this.redis.status;
    if (status === 'ready') return;
    if (status === 'end') throw new Error('redis connection closed');
    this.reconnected ??= new Promise<void>((resolve) =>
      this.redis.once('ready', () => {
        this.reconnected = undefined;
        resolve();
      }),
    );
    const timeout = new AbortController();
    await Promise.race([
      this.reconnected.finally(() => timeout.abort()),
      sleep(this.commandTimeoutMs, undefined, { signal: timeout.signal }).then(() => {
        throw new Error('redis not connected');
      }),
    ]);
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
    if (this.ended.has(sid)) return undefined;
    const hit = this.recent.get(sid);
    if (hit) return hit;
    const session = await this.read(sid);
    // A read Redis answered before this replica's sign-out reached it is this request's to use, but it
    // must not go back into the read cache: the next request would see a session that is over.
    if (session && !this.ended.has(sid)) this.recent.set(sid, session);
    return session;
  }

  private ttlMs(session: Session): number {
    return session.exp * 1000 - this.now();
  }

  async create(session: Session): Promise<string> {
    const ttl = this.ttlMs(session);
    if (ttl <= 0) throw serviceUnavailable('the session ended before it could be stored; sign in again');
    await this.call(() => this.redis.set(this.key(session.sid), JSON.stringify(session), 'PX', ttl, 'NX'));
    this.recent.set(session.sid, session);
    return this.box.seal({ sid: session.sid });
  }

  async update(next: Session, expectedGen: number): Promise<UpdateResult> {
    const ttl = this.ttlMs(next);
    if (ttl <= 0) return { refused: 'gone' };
    const answer = await this.call(
      () =>
        this.redis.eval(
          UPDATE_IF_GENERATION,
          1,
          this.key(next.sid),
          JSON.stringify(next),
          String(Math.ceil(ttl)),
          String(expectedGen),
        ) as Promise<string>,
    );
    if (answer !== 'OK') {
      this.recent.delete(next.sid);
      return { refused: answer === 'gone' ? 'gone' : 'superseded' };
    }
    this.recent.set(next.sid, next);
    return { stored: await this.box.seal({ sid: next.sid }) };
  }

  async destroy(session: Session): Promise<void> {
    this.ended.set(session.sid, true);
    this.recent.delete(session.sid);
    await this.call(() => this.redis.del(this.key(session.sid)));
  }

  singleFlight(session: Session, refresh: () => Promise<Session>): Promise<Session | undefined> {
    return this.flights.run(session.sid, () => this.lockedRefresh(session, refresh));
  }

  private async lockedRefresh(
    session: Session,
    refresh: () => Promise<Session>,
  ): Promise<Session | undefined> {
    const lock = `${PREFIX}refresh-lock:${session.sid}`;
    const token = randomBytes(16).toString('base64url');
    // The lease is Redis's time, not the session clock: the wait is real.
    const deadline = performance.now() + LOCK_LEASE_MS;
    while (performance.now() < deadline) {
      const got = await this.call(() => this.redis.set(lock, token, 'PX', LOCK_LEASE_MS, 'NX'));
      if (got === 'OK') {
        try {
          const current = await this.read(session.sid);
          if (settled(current, session)) return current;
          const next = await refresh();
          const result = await this.update(next, generation(session));
          // Signed out while the IdP answered: the refreshed session is not stored, so it is over.
          return 'stored' in result ? next : await this.read(session.sid);
        } finally {
          await this.redis.eval(RELEASE_LOCK, 1, lock, token).catch(() => undefined);
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

/** One log line when Redis stops answering (refused, timed out, stalled) and one when it is back, not one per request. */
class StoreHealth {
  private down = false;
  constructor(private readonly logger?: Logger) {}

  failed(err: Error): void {
    if (this.down) return;
    this.down = true;
    this.logger?.warn(
      { err: err.message },
      'session store (Redis) unavailable; requests with a session get 503',
    );
  }

  ok(): void {
    if (!this.down) return;
    this.down = false;
    this.logger?.info('session store (Redis) answers again');
  }
}

export { newSessionId } from './session-id.js';
