/**
 * Browser sessions on a routed host: the host's own cookie holds a HostTicket
 * bound to that origin, and the ordinary session rules (expiry, idle time,
 * refresh, compare-and-set writes, cookie renewal — BrowserSessions) run over
 * a store view that only opens tickets for the request's origin. So an app
 * host's cookie is no credential on any other host, and the gateway's session
 * cookie never leaves the gateway's own host.
 *
 *   Cookie store: the ticket carries the user and lives `hostSessionTTL` at
 *   most, then the host silently hands off again while the main session lives.
 *   Sign-out revokes its session id on this replica at once; other replicas
 *   stop honouring the ticket when it ends.
 *   Redis store: the ticket carries the session's handle; every request reads
 *   the server-side session, so sign-out, expiry and refresh hold on every
 *   host at once.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { boundedCache, type BoundedCache } from '../../bounded-cache.js';
import type { Identity } from '../../request/identity.js';
import type { CredentialLiveness } from '../liveness.js';
import { BrowserSessions, type BrowserSessionOptions } from '../session/browser-sessions.js';
import { readChunked, requestCookies, writeChunked } from '../session/cookie-jar.js';
import type { SealedBox } from '../session/sealed-box.js';
import { toSeconds, type Session } from '../session/session.js';
import { type SessionStore, type UpdateResult } from '../session/store.js';
import type { HostCookieSettings } from './host-cookies.js';
import { checkTicket, type HostTicket } from './ticket.js';

export interface HostSessionOptions extends Omit<
  BrowserSessionOptions,
  'cookies' | 'cookieCarriesSession' | 'now'
> {
  /** The host cookie's settings: its name, the browser-binding nonce cookie, Secure; never a Domain. */
  hostCookies: HostCookieSettings;
  /** Seals host tickets (purpose `host`). */
  box: SealedBox;
  /** The gateway's own sessions: a Redis ticket's handle is one of theirs. */
  sessions: BrowserSessions;
  /** Whether the store is server-side (tickets carry a handle) or the cookie (tickets carry the user). */
  serverSide: boolean;
  /** Cookie store: how long a ticket lives at most (ms). */
  hostSessionTTL: number;
  now: () => number;
}

/**
 * Opens host cookies' tickets. Decrypting costs ~0.1 ms and a browser sends
 * the same cookie with every request, so opened tickets are kept a minute
 * (the checks — origin, time — run every time).
 */
class TicketOpener {
  private readonly opened = boundedCache<string, { v: unknown }>({ max: 5_000, ttl: 60_000 });

  constructor(private readonly o: HostSessionOptions) {}

  /** The ticket a host cookie holds, good on `origin` now; undefined otherwise. */
  async open(value: string, origin: string): Promise<HostTicket | undefined> {
    let hit = this.opened.get(value);
    if (!hit) {
      hit = { v: await this.o.box.open(value).catch(() => undefined) };
      this.opened.set(value, hit);
    }
    return checkTicket(hit.v, origin, this.o.now());
  }
}

/** Sessions of a ticket-bearing request, read through one origin's tickets. */
class TicketStore implements SessionStore {
  constructor(
    private readonly o: HostSessionOptions,
    private readonly origin: string,
    private readonly tickets: TicketOpener,
    private readonly revoked: BoundedCache<string, true>,
  ) {}

  async load(cookieValue: string): Promise<Session | undefined> {
    const ticket = await this.tickets.open(cookieValue, this.origin);
    if (!ticket || this.revoked.has(ticket.sid)) return undefined;
    if (ticket.h === undefined) return this.ticketSession(ticket);
    const session = await this.o.store.load(ticket.h);
    return session?.sid === ticket.sid ? session : undefined;
  }

  /**
   * A cookie-store ticket as a session: no refresh token (refreshing happens on
   * the gateway's own host, at the next handoff), ending when the ticket does.
   */
  private ticketSession(t: HostTicket): Session {
    const now = toSeconds(this.o.now());
    return { sid: t.sid, user: t.user!, sub: '', iat: now, exp: toSeconds(t.exp), seen: now };
  }

  private seal(session: Session, h?: string): Promise<string> {
    const base = { aud: this.origin, sid: session.sid, exp: session.exp * 1000 };
    return this.o.box.seal(h === undefined ? { ...base, user: session.user } : { ...base, h });
  }

  async create(session: Session): Promise<string> {
    return this.seal(session, this.o.serverSide ? await this.o.store.create(session) : undefined);
  }

  async update(next: Session, expectedGen: number): Promise<UpdateResult> {
    if (!this.o.serverSide) return { stored: await this.seal(next) };
    const result = await this.o.store.update(next, expectedGen);
    return 'refused' in result ? result : { stored: await this.seal(next, result.stored) };
  }

  destroy(session: Session): Promise<void> {
    return this.o.serverSide ? this.o.store.destroy(session) : Promise.resolve();
  }

  singleFlight(session: Session, refresh: () => Promise<Session>): Promise<Session | undefined> {
    return this.o.store.singleFlight(session, refresh);
  }

  isStale(cookieValue: string): boolean {
    return this.o.box.isStale(cookieValue);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

export class HostSessions {
  /** Cookie store: sessions signed out on this replica, until their tickets would have ended. */
  private readonly revoked: BoundedCache<string, true>;
  private readonly tickets: TicketOpener;

  constructor(private readonly o: HostSessionOptions) {
    this.tickets = new TicketOpener(o);
    this.revoked = boundedCache<string, true>({ max: 50_000, ttl: 1, now: o.now });
  }

  get cookies(): HostCookieSettings {
    return this.o.hostCookies;
  }

  private sessionsOn(origin: string): BrowserSessions {
    return new BrowserSessions({
      ...this.o,
      store: new TicketStore(this.o, origin, this.tickets, this.revoked),
      cookies: this.o.hostCookies,
      cookieCarriesSession: !this.o.serverSide,
    });
  }

  /** The identity a routed host's cookie stands for on `origin`; undefined without one; throws 401 when it is no good. */
  authenticate(req: IncomingMessage, origin: string, res?: ServerResponse): Promise<Identity | undefined> {
    return this.sessionsOn(origin).authenticate(req, res);
  }

  /**
   * For a WebSocket on a routed host: Redis asks the gateway session itself
   * (signed out, expired, refused at refresh); the cookie store can only know
   * of sign-outs on this replica and the session's end, as on the gateway's host.
   */
  liveness(req: IncomingMessage, origin: string): CredentialLiveness | undefined {
    const value = readChunked(this.o.hostCookies, requestCookies(req));
    if (value === undefined) return undefined;
    const check = async () => {
      const ticket = await this.tickets.open(value, origin);
      if (!ticket || this.revoked.has(ticket.sid)) return { alive: false as const, reason: 'signed out' };
      if (ticket.h !== undefined) return this.o.sessions.liveness(ticket.h).check();
      const end = ticket.end ?? ticket.exp;
      if (end <= this.o.now()) return { alive: false as const, reason: 'session expired' };
      return { alive: true as const, expiresAt: end };
    };
    return { recheckMs: this.o.recheckMs, check };
  }

  /** The ticket a handoff carries for `origin`, from the main session as it stands. */
  ticketFor(session: Session, handle: string, origin: string, user: HostTicket['user']): HostTicket {
    const end = session.exp * 1000;
    if (this.o.serverSide) return { aud: origin, sid: session.sid, exp: end, h: handle };
    const exp = Math.min(end, this.o.now() + this.o.hostSessionTTL);
    return { aud: origin, sid: session.sid, exp, end, user };
  }

  /** Set-Cookie lines for a redeemed ticket on its host. */
  async cookieLines(ticket: HostTicket, present: Record<string, string | undefined>): Promise<string[]> {
    const value = await this.o.box.seal(ticket);
    return writeChunked(this.o.hostCookies, value, (ticket.exp - this.o.now()) / 1000, present);
  }

  /** A sign-out: this replica stops honouring the session's tickets at once (the cookie store's only lever). */
  signedOut(session: Session): void {
    // Remembered as long as anything minted for it may live (a WebSocket lasts to the session's end).
    const ttl = Math.max(1, session.exp * 1000 - this.o.now());
    if (!this.o.serverSide) this.revoked.set(session.sid, true, { ttl });
  }
}
