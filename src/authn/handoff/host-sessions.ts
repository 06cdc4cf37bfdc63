/**
 * Browser sessions on a routed host: the host's own cookie holds a HostTicket
 * bound to that origin, and the ordinary session rules (expiry, idle time,
 * refresh, cookie renewal — BrowserSessions) run over a store view that only
 * opens tickets for the request's origin. So an app host's cookie is no
 * credential on any other host, and the gateway's session cookie never leaves
 * the gateway's own host.
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
import { LRUCache } from 'lru-cache';
import type { Identity } from '../identity.js';
import { BrowserSessions, type BrowserSessionOptions } from '../session/browser-sessions.js';
import { writeChunked } from '../session/cookie-jar.js';
import type { SealedBox } from '../session/sealed-box.js';
import { nowSeconds, type Session } from '../session/session.js';
import type { SessionStore } from '../session/store.js';
import type { HostCookieSettings } from './host-cookies.js';
import { checkTicket, type HostTicket } from './ticket.js';

export interface HostSessionOptions extends Omit<BrowserSessionOptions, 'cookies' | 'cookieCarriesSession'> {
  /** The host cookie's settings: its name, the browser-binding nonce cookie, Secure; never a Domain. */
  hostCookies: HostCookieSettings;
  /** Seals host tickets (purpose `host`). */
  box: SealedBox;
  /** Whether the store is server-side (tickets carry a handle) or the cookie (tickets carry the user). */
  serverSide: boolean;
  /** Cookie store: how long a ticket lives at most (ms). */
  hostSessionTTL: number;
  now: () => number;
}

/** Sessions of a ticket-bearing request, read through one origin's tickets. */
class TicketStore implements SessionStore {
  constructor(
    private readonly o: HostSessionOptions,
    private readonly origin: string,
    private readonly revoked: LRUCache<string, true>,
  ) {}

  async load(cookieValue: string): Promise<Session | undefined> {
    let opened: unknown;
    try {
      opened = await this.o.box.open(cookieValue);
    } catch {
      return undefined;
    }
    const ticket = checkTicket(opened, this.origin, this.o.now());
    if (!ticket || this.revoked.has(ticket.sid)) return undefined;
    if (ticket.h === undefined) return ticketSession(ticket);
    const session = await this.o.store.load(ticket.h);
    return session?.sid === ticket.sid ? session : undefined;
  }

  async save(session: Session): Promise<string> {
    if (!this.o.serverSide) {
      return this.o.box.seal({
        aud: this.origin,
        sid: session.sid,
        exp: session.exp * 1000,
        user: session.user,
      });
    }
    const h = await this.o.store.save(session);
    return this.o.box.seal({ aud: this.origin, sid: session.sid, exp: session.exp * 1000, h });
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

/**
 * A cookie-store ticket as a session: no refresh token (refreshing happens on
 * the gateway's own host, at the next handoff), ending when the ticket does.
 */
function ticketSession(t: HostTicket): Session {
  const now = nowSeconds();
  return { sid: t.sid, user: t.user!, sub: '', iat: now, exp: Math.floor(t.exp / 1000), seen: now };
}

export class HostSessions {
  /** Cookie store: sessions signed out on this replica, until their tickets would have ended. */
  private readonly revoked: LRUCache<string, true>;

  constructor(private readonly o: HostSessionOptions) {
    this.revoked = new LRUCache<string, true>({ max: 50_000, ttl: Math.max(1, o.hostSessionTTL) });
  }

  get cookies(): HostCookieSettings {
    return this.o.hostCookies;
  }

  private sessionsOn(origin: string): BrowserSessions {
    return new BrowserSessions({
      ...this.o,
      store: new TicketStore(this.o, origin, this.revoked),
      cookies: this.o.hostCookies,
      cookieCarriesSession: !this.o.serverSide,
    });
  }

  /** The identity a routed host's cookie stands for on `origin`; undefined without one; throws 401 when it is no good. */
  authenticate(req: IncomingMessage, origin: string, res?: ServerResponse): Promise<Identity | undefined> {
    return this.sessionsOn(origin).authenticate(req, res);
  }

  /** The ticket a handoff carries for `origin`, from the main session as it stands. */
  ticketFor(session: Session, handle: string, origin: string, user: HostTicket['user']): HostTicket {
    const sessionEnd = session.exp * 1000;
    if (this.o.serverSide) return { aud: origin, sid: session.sid, exp: sessionEnd, h: handle };
    const exp = Math.min(sessionEnd, this.o.now() + this.o.hostSessionTTL);
    return { aud: origin, sid: session.sid, exp, user };
  }

  /** Set-Cookie lines for a redeemed ticket on its host. */
  async cookieLines(ticket: HostTicket, present: Record<string, string | undefined>): Promise<string[]> {
    const value = await this.o.box.seal(ticket);
    return writeChunked(this.o.hostCookies, value, (ticket.exp - this.o.now()) / 1000, present);
  }

  /** A sign-out: this replica stops honouring the session's tickets at once (the cookie store's only lever). */
  signedOut(session: Session): void {
    if (!this.o.serverSide) this.revoked.set(session.sid, true);
  }
}
