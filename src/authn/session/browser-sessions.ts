/**
 * Browser sessions on the request path: read the cookie, decide (expired,
 * idle, due for refresh, due for an idle-deadline bump), refresh once, and
 * hand back the Identity plus any Set-Cookie lines the response must carry.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GatewayError, serviceUnavailable, unauthorized } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import type { Identity } from '../identity.js';
import type { IdentityProvider } from '../oidc/identity-provider.js';
import { refreshSession, RefreshRejectedError } from '../oidc/refresh.js';
import {
  addSetCookies,
  clearAll,
  readChunked,
  requestCookies,
  writeChunked,
  type CookieSettings,
} from './cookie-jar.js';
import { judgeSession, nowSeconds, sessionIdentity, type Session, type SessionTimes } from './session.js';
import type { SessionStore } from './store.js';

export interface BrowserSessionOptions {
  store: SessionStore;
  cookies: CookieSettings;
  times: SessionTimes;
  idp: IdentityProvider;
  logger: Logger;
  /** Whether the cookie value changes with the session's content (cookie store) or is only a handle (Redis). */
  cookieCarriesSession: boolean;
}

export class BrowserSessions {
  constructor(private readonly o: BrowserSessionOptions) {}

  get cookies(): CookieSettings {
    return this.o.cookies;
  }

  /** The current session of a request, or undefined when it has no session cookie. */
  async current(
    req: IncomingMessage,
  ): Promise<{ session?: Session; present: Record<string, string | undefined>; value?: string }> {
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
    if (!session) return reject('your session is invalid or was signed with a retired secret; sign in again');

    const verdict = judgeSession(session, this.o.times);
    let next: Session | undefined = session;
    switch (verdict.kind) {
      case 'expired':
        await this.o.store.destroy(session).catch(() => undefined);
        return reject(verdict.message);
      case 'refresh':
        next = await this.refresh(session).catch((err: unknown) => {
          if (err instanceof GatewayError) throw err;
          return reject('your session could not be renewed; sign in again');
        });
        if (!next) return reject('your session has ended; sign in again');
        next = { ...next, seen: nowSeconds() };
        break;
      case 'touch':
        next = { ...session, seen: nowSeconds() };
        break;
      case 'ok':
        break;
    }
    const changed = next !== session && (this.o.cookieCarriesSession || verdict.kind === 'touch');
    if (res && (changed || this.o.store.isStale(value))) {
      addSetCookies(res, await this.cookieLines(next, present));
    } else if (verdict.kind === 'touch') {
      await this.o.store.save(next);
    }
    return sessionIdentity(next);
  }

  private async refresh(session: Session): Promise<Session | undefined> {
    const config = await this.o.idp.config();
    try {
      return await this.o.store.singleFlight(session, () => refreshSession(config, session, this.o.idp.map));
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
      if ((session.tokExp ?? 0) > nowSeconds()) return session;
      throw serviceUnavailable(
        'the sign-in provider cannot be reached to renew your session; try again shortly',
      );
    }
  }

  /** Stores the session and returns the Set-Cookie lines for it. */
  async cookieLines(session: Session, present: Record<string, string | undefined>): Promise<string[]> {
    const value = await this.o.store.save(session);
    return writeChunked(this.o.cookies, value, session.exp - nowSeconds(), present);
  }

  async destroy(session: Session): Promise<void> {
    await this.o.store.destroy(session);
  }
}
