/**
 * Where sessions live. The cookie store keeps the whole (sealed) session in
 * the browser, so any replica serves any user with no shared state. The Redis
 * store keeps it server-side behind a random handle: sessions of any size,
 * logout that takes effect at once, and refresh that runs once across replicas.
 */
import { LRUCache } from 'lru-cache';
import type { Session } from './session.js';
import { generation, isSession } from './session.js';
import type { SealedBox } from './sealed-box.js';

export interface SessionStore {
  /** The session a cookie value stands for; undefined when it is invalid, unknown or destroyed. */
  load(cookieValue: string): Promise<Session | undefined>;
  /** Stores the session; returns the cookie value to send. */
  save(session: Session): Promise<string>;
  destroy(session: Session): Promise<void>;
  /**
   * Runs `refresh` for this session unless another request (or replica) is
   * already doing it; then returns the session as that one left it.
   */
  singleFlight(session: Session, refresh: () => Promise<Session>): Promise<Session | undefined>;
  /** True when the cookie value should be rewritten even if the session did not change (secret rotated). */
  isStale(cookieValue: string): boolean;
  close(): Promise<void>;
}

/** Sessions sealed into the cookie itself. */
export class CookieSessionStore implements SessionStore {
  // Decrypting costs ~0.1 ms; a browser sends the same cookie on every request.
  private readonly opened = new LRUCache<string, Session>({ max: 5_000, ttl: 60_000 });
  private readonly flights = new Map<string, Promise<Session>>();
  // Requests that still carry the pre-refresh cookie get the refreshed session
  // instead of redeeming the (already rotated) refresh token a second time.
  private readonly refreshed = new LRUCache<string, Session>({ max: 5_000, ttl: 60_000 });

  constructor(private readonly box: SealedBox) {}

  async load(cookieValue: string): Promise<Session | undefined> {
    const hit = this.opened.get(cookieValue);
    if (hit) return hit;
    let value: unknown;
    try {
      value = await this.box.open(cookieValue);
    } catch {
      return undefined;
    }
    if (!isSession(value)) return undefined;
    this.opened.set(cookieValue, value);
    return value;
  }

  async save(session: Session): Promise<string> {
    const { idt: _dropped, ...small } = session;
    return this.box.seal(small);
  }

  async destroy(): Promise<void> {
    // Nothing server-side to remove: the refresh token is revoked at the IdP instead.
  }

  async singleFlight(session: Session, refresh: () => Promise<Session>): Promise<Session> {
    const key = `${session.sid}:${generation(session)}`;
    const done = this.refreshed.get(key);
    if (done) return done;
    let flight = this.flights.get(key);
    if (!flight) {
      flight = refresh()
        .then((s) => {
          this.refreshed.set(key, s);
          return s;
        })
        .finally(() => this.flights.delete(key));
      this.flights.set(key, flight);
    }
    return flight;
  }

  isStale(cookieValue: string): boolean {
    return this.box.isStale(cookieValue);
  }

  async close(): Promise<void> {}
}
