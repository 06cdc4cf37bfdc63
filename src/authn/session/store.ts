/**
 * Where sessions live. The cookie store keeps the whole (sealed) session in
 * the browser, so any replica serves any user with no shared state. The Redis
 * store keeps it server-side behind a random handle: sessions of any size,
 * logout that takes effect at once, and refresh that runs once across replicas.
 */
import { boundedCache, type BoundedCache } from '../../bounded-cache.js';
import type { Session } from './session.js';
import { generation, isSession } from './session.js';
import type { SealedBox } from './sealed-box.js';
import { SingleFlight } from '../../single-flight.js';

/**
 * What became of an update: the cookie value to send, or why nothing was
 * stored — `gone` (signed out or expired meanwhile: the session must not come
 * back) or `superseded` (another request refreshed it first: keep theirs).
 */
export type UpdateResult = { stored: string } | { refused: 'gone' | 'superseded' };

export interface SessionStore {
  /** The session a cookie value stands for; undefined when it is invalid, unknown or destroyed. */
  load(cookieValue: string): Promise<Session | undefined>;
  /** Stores a session that did not exist before (a sign-in); returns the cookie value to send. */
  create(session: Session): Promise<string>;
  /**
   * Stores `next` in place of the session as it was at generation
   * `expectedGen` — never over a destroyed session (a request still in flight
   * during a sign-out cannot bring it back) nor over a newer refresh.
   */
  update(next: Session, expectedGen: number): Promise<UpdateResult>;
  /** Ends the session; throws (503) when that cannot be confirmed. */
  destroy(session: Session): Promise<void>;
  /**
   * Runs `refresh` for this session unless another request (or replica) is
   * already doing it; then returns the session as that one left it
   * (undefined: it ended meanwhile).
   */
  singleFlight(session: Session, refresh: () => Promise<Session>): Promise<Session | undefined>;
  /** True when the cookie value should be rewritten even if the session did not change (secret rotated). */
  isStale(cookieValue: string): boolean;
  close(): Promise<void>;
}

/** Sessions sealed into the cookie itself. */
export class CookieSessionStore implements SessionStore {
  // Decrypting costs ~0.1 ms; a browser sends the same cookie on every request.
  private readonly opened = boundedCache<string, Session>({ max: 5_000, ttl: 60_000 });
  private readonly flights = new SingleFlight<string, Session>();
  // Requests that still carry the pre-refresh cookie get the refreshed session
  // instead of redeeming the (already rotated) refresh token a second time.
  private readonly refreshed: BoundedCache<string, Session>;
  // Sessions signed out here. A sealed cookie cannot be revoked everywhere, but
  // this replica refuses a copy at once (and closes its WebSockets) until the session's end.
  private readonly signedOut: BoundedCache<string, true>;

  constructor(
    private readonly box: SealedBox,
    private readonly now: () => number = Date.now,
  ) {
    this.refreshed = boundedCache({ max: 5_000, ttl: 60_000, now });
    this.signedOut = boundedCache({ max: 50_000, now });
  }

  async load(cookieValue: string): Promise<Session | undefined> {
    const session = await this.open(cookieValue);
    return session && !this.signedOut.has(session.sid) ? session : undefined;
  }

  private async open(cookieValue: string): Promise<Session | undefined> {
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

  create(session: Session): Promise<string> {
    const { idt: _dropped, ...small } = session;
    return this.box.seal(small);
  }

  async update(next: Session): Promise<UpdateResult> {
    if (this.signedOut.has(next.sid)) return { refused: 'gone' };
    return { stored: await this.create(next) };
  }

  destroy(session: Session): Promise<void> {
    // Nothing server-side to remove: the refresh token is revoked at the IdP instead.
    const left = session.exp * 1000 - this.now();
    if (left > 0) this.signedOut.set(session.sid, true, { ttl: left });
    return Promise.resolve();
  }

  async singleFlight(session: Session, refresh: () => Promise<Session>): Promise<Session | undefined> {
    const key = `${session.sid}:${generation(session)}`;
    const done = this.refreshed.get(key);
    if (done) return done;
    const s = await this.flights.run(key, () =>
      refresh().then((s) => {
        this.refreshed.set(key, s);
        return s;
      }),
    );
    return this.signedOut.has(s.sid) ? undefined : s;
  }

  isStale(cookieValue: string): boolean {
    return this.box.isStale(cookieValue);
  }

  async close(): Promise<void> {}
}
