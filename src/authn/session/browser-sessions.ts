/**
 * Browser sessions on the request path: read the cookie, decide (expired,
 * idle, due for refresh, due for an idle-deadline bump), refresh once, and
 * hand back the Identity plus any Set-Cookie lines the response must carry.
 * Also where a session starts (sign-in), ends (sign-out, a newer sign-in),
 * and is asked again by connections that outlive their request (liveness).
 *
 * Every time here comes from the injected clock (`now`, ms), so tests move
 * time instead of sleeping.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GatewayError, serviceUnavailable, unauthorized } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import type { Identity } from '../../request/identity.js';
import type { CredentialLiveness, Liveness } from '../liveness.js';
import type { IdentityProvider } from '../oidc/identity-provider.js';
import { refreshSession, RefreshRejectedError, revokeRefreshToken } from '../oidc/refresh.js';
import {
  addSetCookies,
  clearAll,
  readChunked,
  requestCookies,
  SessionTooLargeError,
  writeChunked,
  type CookieSettings,
} from './cookie-jar.js';
import {
  generation,
  judgeSession,
  sessionIdentity,
  toSeconds,
  type Session,
  type SessionTimes,
} from './session.js';
import type { SessionStore } from './store.js';

export interface BrowserSessionOptions {
  store: SessionStore;
  cookies: CookieSettings;
  times: SessionTimes;
  idp: IdentityProvider;
  logger: Logger;
  /** Whether the cookie value changes with the session's content (cookie store) or is only a handle (Redis). */
  cookieCarriesSession: boolean;
  /** How often a connection opened with a session asks whether it is still good (ms). */
  recheckMs: number;
  /** The clock (ms since the epoch); Date.now in production. */
  now?: () => number;
}

type Present = Record<string, string | undefined>;

const MAX_HANDLE_BYTES = 512;

export class BrowserSessions {
  readonly now: () => number;

  constructor(private readonly o: BrowserSessionOptions) {
    this.now = o.now ?? Date.now;
  }

  get cookies(): CookieSettings {
    return this.o.cookies;
  }

  /** Seconds on the session clock. */
  nowSeconds(): number {
    return toSeconds(this.now());
  }

  /** The current session of a request, or undefined when it has no session cookie. Throws 503 when the store is down. */
  async current(req: IncomingMessage): Promise<{ session?: Session; present: Present; value?: string }> {
    const present = requestCookies(req);
    const value = readChunked(this.o.cookies, present);
    if (value === undefined) return { present };
    return { session: await this.o.store.load(value), present, value };
  }

  async authenticate(req: IncomingMessage, res?: ServerResponse): Promise<Identity | undefined> {
    const { session, present, value } = await this.current(req);
    if (value === undefined) return undefined;
    const reject = (message: string): never => {
      if (res) addSetCookies(res, clearAll(this.o.cookies, present));
      throw unauthorized(message);
    };
    if (!session)
      return reject(
        'your session is invalid, was signed out, or was signed with a retired secret; sign in again',
      );

    const now = this.nowSeconds();
    const verdict = judgeSession(session, this.o.times, now);
    let next: Session = session;
    switch (verdict.kind) {
      case 'expired':
        await this.o.store.destroy(session).catch(() => undefined);
        return reject(verdict.message);
      case 'refresh': {
        const refreshed = await this.refresh(session).catch((err: unknown) => {
          if (err instanceof GatewayError) throw err;
          return reject('your session could not be renewed; sign in again');
        });
        if (!refreshed) return reject('your session has ended; sign in again');
        next = { ...refreshed, seen: now };
        break;
      }
      case 'touch':
        next = { ...session, seen: now };
        break;
      case 'ok':
        break;
    }
    // The Redis store already holds a refreshed session; only the idle deadline needs writing there.
    const changed = next !== session && (this.o.cookieCarriesSession || verdict.kind === 'touch');
    const stale = this.o.store.isStale(value);
    if (!changed && !stale) return sessionIdentity(next);
    const result = await this.o.store.update(next, generation(next));
    if ('refused' in result) {
      // Signed out while this request was on its way: it must not bring the session back.
      if (result.refused === 'gone') return reject('your session has ended; sign in again');
      return sessionIdentity(next); // another request moved the session on; theirs stands
    }
    if (res && (this.o.cookieCarriesSession || stale)) {
      try {
        addSetCookies(res, this.cookieLines(result.stored, next, present));
      } catch (err) {
        if (!(err instanceof SessionTooLargeError)) throw err;
        return reject(
          `your session no longer fits in this browser's cookies (${err.message}); sign in again`,
        );
      }
    }
    return sessionIdentity(next);
  }

  private async refresh(session: Session): Promise<Session | undefined> {
    const config = await this.o.idp.config();
    let obtained: Session | undefined;
    try {
      const result = await this.o.store.singleFlight(session, async () => {
        obtained = await refreshSession(config, session, this.o.idp.map, this.nowSeconds());
        return obtained;
      });
      // Signed out while the IdP answered: the tokens it just issued must not outlive the session.
      if (!result && obtained) await revokeRefreshToken(config, obtained.rt);
      return result;
    } catch (err) {
      if (err instanceof RefreshRejectedError) {
        this.o.logger.info(
          { user: session.user.username, reason: err.message },
          'session refresh refused; session ended',
        );
        await this.o.store.destroy(session).catch(() => undefined);
        throw err;
      }
      if (err instanceof GatewayError) throw err;
      // The IdP is down: keep serving while the current tokens are still good.
      this.o.logger.warn({ err: (err as Error).message }, 'session refresh failed; IdP unreachable');
      if ((session.tokExp ?? 0) > this.nowSeconds()) return session;
      throw serviceUnavailable(
        'the sign-in provider cannot be reached to renew your session; try again shortly',
      );
    }
  }

  private cookieLines(value: string, session: Session, present: Present): string[] {
    return writeChunked(this.o.cookies, value, session.exp - this.nowSeconds(), present);
  }

  /**
   * Stores a new session (a sign-in) and returns the Set-Cookie lines for it.
   * Throws SessionTooLargeError, before anything is stored, when its cookies
   * would not fit in what the listener accepts.
   */
  async start(session: Session, present: Present): Promise<string[]> {
    // The cookie store stores nothing until the lines go out; a Redis handle is always small.
    return this.cookieLines(await this.o.store.create(session), session, present);
  }

  /**
   * Ends a session: gone from the store (throws 503 when that cannot be
   * confirmed), then its refresh token revoked at the IdP (best effort: with
   * the Redis store nobody holds it any more; with the cookie store a copy of
   * the cookie stops renewing).
   */
  async end(session: Session): Promise<void> {
    await this.o.store.destroy(session);
    const config = await this.o.idp.config().catch(() => undefined);
    if (config && !(await revokeRefreshToken(config, session.rt)))
      this.o.logger.warn({ user: session.user.username }, 'could not revoke the refresh token at sign-out');
  }

  /**
   * The handle of the session a browser had before a new sign-in, to end it
   * when that sign-in completes; only for stores whose cookie is a small
   * handle (Redis), since it rides in the sign-in cookie.
   */
  previousHandle(present: Present): string | undefined {
    if (this.o.cookieCarriesSession) return undefined;
    const handle = readChunked(this.o.cookies, present);
    // A real handle is ~150 bytes; a planted large value must not swell the sign-in cookie past what browsers keep.
    return handle !== undefined && handle.length <= MAX_HANDLE_BYTES ? handle : undefined;
  }

  /** Ends the session a previous handle stands for (after a new sign-in); never throws. */
  async endPrevious(handle: string | undefined): Promise<void> {
    if (!handle) return;
    try {
      const previous = await this.o.store.load(handle);
      if (previous) await this.end(previous);
    } catch (err) {
      this.o.logger.warn({ err: (err as Error).message }, 'could not end the previous session after sign-in');
    }
  }

  /**
   * Whether the session behind a cookie value is still good, for connections
   * that outlive their request (WebSockets). Signed out, past its absolute
   * end, or refused by the IdP at refresh: lapsed. The idle timeout does not
   * apply: traffic on the connection is activity the session does not see.
   * Only stores whose cookie is a handle refresh here (a refreshed sealed
   * cookie could not reach the browser, and its old refresh token would be spent).
   */
  liveness(value: string): CredentialLiveness {
    return {
      recheckMs: this.o.recheckMs,
      check: async (): Promise<Liveness> => {
        let session = await this.o.store.load(value);
        if (!session) return { alive: false, reason: 'signed out' };
        if (session.exp <= this.nowSeconds()) return { alive: false, reason: 'session expired' };
        const due = judgeSession(session, this.o.times, this.nowSeconds()).kind === 'refresh';
        if (due && !this.o.cookieCarriesSession) {
          try {
            session = await this.refresh(session);
          } catch (err) {
            if (err instanceof RefreshRejectedError)
              return { alive: false, reason: 'session ended by the sign-in provider' };
            throw err;
          }
          if (!session) return { alive: false, reason: 'signed out' };
        }
        return { alive: true, expiresAt: session.exp * 1000 };
      },
    };
  }
}
