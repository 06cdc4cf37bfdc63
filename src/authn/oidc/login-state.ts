/**
 * The in-flight sign-in (PKCE verifier, state, nonce, where to return) lives
 * in its own short-lived sealed cookie, so a sign-in begun on one replica can
 * finish on another, and starting one never disturbs an existing session.
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
  [strategyKey: string]: unknown;
}

export type LoginSession = LoginState & {
  regenerate(cb: (err?: unknown) => void): void;
  save(cb: (err?: unknown) => void): void;
};

export function loginSession(state: LoginState): LoginSession {
  const session = { ...state } as LoginSession;
  Object.defineProperties(session, {
    regenerate: { value: (cb: (err?: unknown) => void) => cb(), enumerable: false },
    save: { value: (cb: (err?: unknown) => void) => cb(), enumerable: false },
  });
  return session;
}

/**
 * Seals the login state into its cookie when the response ends. The Strategy
 * ends the response itself (a redirect), and sealing is asynchronous, so the
 * end is held until the cookie is ready.
 */
export function persistOnEnd(
  res: ServerResponse,
  session: LoginSession,
  box: SealedBox,
  cookies: CookieSettings,
): void {
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  res.end = ((...args: unknown[]) => {
    void box
      .seal({ ...session })
      .then((value) => {
        if (!res.headersSent)
          res.appendHeader('set-cookie', setCookie(cookies, cookies.loginName, value, LOGIN_STATE_SECONDS));
      })
      .finally(() => end(...args));
    return res;
  }) as ServerResponse['end'];
}
