/**
 * The in-flight sign-in (PKCE verifier, state, nonce, where to return) lives
 * in its own short-lived sealed cookie, so a sign-in begun on one replica can
 * finish on another, and starting one never disturbs an existing session.
 * The sealed blob carries its own deadline: the cookie's Max-Age is only the
 * browser's promise, and a copied blob must not work after it.
 *
 * passport and the openid-client Strategy keep their state in `req.session`
 * and (passport ≥ 0.6) call `req.session.regenerate()` / `save()`: this is
 * that object.
 */
import type { ServerResponse } from 'node:http';
import { setCookie, type CookieSettings } from '../session/cookie-jar.js';
import type { SealedBox } from '../session/sealed-box.js';

/** Ten minutes to get through the IdP's pages. */
export const LOGIN_STATE_SECONDS = 600;

export interface LoginState {
  /** Where to go after sign-in: already checked to be a same-origin path. */
  rd: string;
  /** The end of this sign-in (seconds since the epoch), sealed with it. */
  exp?: number;
  /** The handle of the session this browser had before (Redis store): ended when this sign-in completes. */
  prev?: string;
  [strategyKey: string]: unknown;
}

export type LoginSession = LoginState & {
  regenerate(cb: (err?: unknown) => void): void;
  save(cb: (err?: unknown) => void): void;
};

/** The login cookie is missing its deadline, or past it. */
export class LoginExpiredError extends Error {
  readonly code = 'ERR_LOGIN_EXPIRED';
  constructor() {
    super('this sign-in has expired');
    this.name = 'LoginExpiredError';
  }
}

export function loginSession(state: LoginState): LoginSession {
  const session = { ...state } as LoginSession;
  Object.defineProperties(session, {
    regenerate: { value: (cb: (err?: unknown) => void) => cb(), enumerable: false },
    save: { value: (cb: (err?: unknown) => void) => cb(), enumerable: false },
  });
  return session;
}

/**
 * Opens the login cookie. Throws UnsealError for anything we did not seal,
 * LoginExpiredError for a sign-in older than LOGIN_STATE_SECONDS.
 * @param now seconds on the session clock
 */
export async function openLoginState(blob: string, box: SealedBox, now: number): Promise<LoginState> {
  const state = (await box.open(blob)) as LoginState;
  if (typeof state?.exp !== 'number' || state.exp <= now) throw new LoginExpiredError();
  return state;
}

/**
 * Seals the login state into its cookie when the response ends. The Strategy
 * ends the response itself (a redirect), and sealing is asynchronous, so the
 * end is held until the cookie is ready.
 * @param now seconds on the session clock
 */
export function persistOnEnd(
  res: ServerResponse,
  session: LoginSession,
  box: SealedBox,
  cookies: CookieSettings,
  now: number,
): void {
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  res.end = ((...args: unknown[]) => {
    void box
      .seal({ ...session, exp: now + LOGIN_STATE_SECONDS })
      .then((value) => {
        if (!res.headersSent)
          res.appendHeader('set-cookie', setCookie(cookies, cookies.loginName, value, LOGIN_STATE_SECONDS));
      })
      .finally(() => end(...args));
    return res;
  }) as ServerResponse['end'];
}
