/**
 * The gateway's own sign-in endpoints:
 *   /auth/login?rd=   start the authorization code flow (PKCE + state + nonce)
 *   /auth/callback    finish it, create the session, return to rd
 *   /auth/logout      the sign-out page; its POST ends the session (logout.ts)
 *   /auth/whoami      the caller's identity as JSON, however they authenticated
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import express from 'express';
import { GatewayError, badRequest, forbidden, notFound, serviceUnavailable } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import { sendError } from '../../web/error-response.js';
import type { Identity } from '../../request/identity.js';
import type { BrowserSessions } from '../session/browser-sessions.js';
import { addSetCookies, clearCookie, requestCookies, SessionTooLargeError } from '../session/cookie-jar.js';
import { newSessionId } from '../session/session-id.js';
import type { SealedBox } from '../session/sealed-box.js';
import type { Session } from '../session/session.js';
import { LOGIN_PATH } from '../sign-in-paths.js';
import { describeCallbackFailure } from './callback-failure.js';
import { codeFlow, type CallbackResult, type SignedIn } from './code-flow.js';
import { isUnreachable, type IdentityProvider } from './identity-provider.js';
import {
  LoginExpiredError,
  loginSession,
  openLoginState,
  persistOnEnd,
  type LoginState,
} from './login-state.js';
import { LOGOUT_PATH, logoutHandlers } from './logout.js';
import { safeRedirectTarget } from './redirect-target.js';
import { tokenTimes } from './refresh.js';

export { LOGIN_PATH };

export interface AuthRouterOptions {
  idp?: IdentityProvider;
  sessions?: BrowserSessions;
  loginBox?: SealedBox;
  publicURL: URL;
  /** Session lifetime in ms. */
  ttl: number;
  authenticate(req: IncomingMessage, res?: ServerResponse): Promise<Identity | undefined>;
  /** Host-routed origins a sign-in may return to. */
  isOwnOrigin?: (origin: string) => boolean;
  /** Told of every session signed out, so it ends on routed hosts too (handoff/). */
  onSignOut?: (session: Session) => void;
  /**
   * Where a sign-in that cannot start sends the browser instead of a page at its URL, when its return
   * path's URL must not stay on a page of ours (the handoff's carries its state); undefined: the page.
   */
  failedSignInTarget?: (rd: string, err: GatewayError) => string | undefined;
  logger: Logger;
}

export function createAuthRouter(o: AuthRouterOptions): express.Router {
  const router = express.Router();
  const flow = o.idp ? codeFlow(o.idp, o.publicURL) : undefined;
  const fail = (req: IncomingMessage, res: ServerResponse, err: GatewayError) =>
    sendError(req, res, err, { loginPath: o.idp ? LOGIN_PATH : undefined });

  const browserSignIn = () => {
    if (!o.idp || !o.sessions || !o.loginBox) throw notFound('page', 'browser sign-in is not configured');
    return { flow: flow!, sessions: o.sessions, loginBox: o.loginBox };
  };

  router.get(LOGIN_PATH, async (req, res) => {
    const rd = safeRedirectTarget(req.query.rd, o.publicURL, '/', o.isOwnOrigin);
    const failLogin = (err: GatewayError) => {
      const away = o.failedSignInTarget?.(rd, err);
      if (!away) return fail(req, res, err);
      res.setHeader('cache-control', 'no-store');
      res.setHeader('referrer-policy', 'no-referrer');
      res.redirect(303, away);
    };
    try {
      const { flow, sessions, loginBox } = browserSignIn();
      const signIn = await flow();
      const present = requestCookies(req);
      const session = loginSession({ rd, prev: sessions.previousHandle(present) });
      (req as unknown as { session: unknown }).session = session;
      res.setHeader('cache-control', 'no-store');
      // The session the browser has is left alone: this GET is reachable by any <img> of a sibling host
      // (SameSite=Lax sends the cookie), so expiring it here signed people out. A planted session cannot
      // outlive the sign-in anyway: the callback writes a new session id over every chunk (session fixation).
      persistOnEnd(res, session, loginBox, sessions.cookies, sessions.nowSeconds());
      signIn.redirect(req, res, (err: unknown) => {
        o.logger.error({ err: (err as Error)?.message }, 'cannot start sign-in');
        failLogin(new GatewayError(502, 'BadGateway', 'cannot start sign-in with the identity provider'));
      });
    } catch (err) {
      failLogin(err instanceof GatewayError ? err : badRequest('cannot start sign-in'));
    }
  });

  router.get('/auth/callback', async (req, res) => {
    try {
      const { flow, sessions, loginBox } = browserSignIn();
      const present = requestCookies(req);
      addSetCookies(res, [clearCookie(sessions.cookies, sessions.cookies.loginName)]);
      const blob = present[sessions.cookies.loginName];
      const restart = 'open the page you wanted again to sign in anew';
      if (!blob) throw badRequest(`this sign-in has expired or was started in another browser; ${restart}`);
      let state: LoginState;
      try {
        state = await openLoginState(blob, loginBox, sessions.nowSeconds());
      } catch (err) {
        if (err instanceof LoginExpiredError) throw badRequest(`this sign-in has expired; ${restart}`);
        throw badRequest(`this sign-in cannot be verified; ${restart}`);
      }
      (req as unknown as { session: unknown }).session = loginSession(state);
      const signIn = await flow();
      let result: CallbackResult;
      try {
        result = await signIn.redeem(req, res);
      } catch (err) {
        o.logger.warn({ err: (err as Error).message }, 'sign-in failed at the callback');
        // The IdP being down is not the user's mistake: a 503 that says so, not a 400.
        if (isUnreachable(err))
          throw serviceUnavailable(
            `the sign-in provider cannot be reached right now; try again shortly, then ${restart}`,
          );
        throw badRequest(`sign-in failed: ${describeCallbackFailure(err)}; ${restart}`);
      }
      if ('refused' in result)
        throw forbidden(`sign-in was not completed: ${result.refused ?? 'the identity provider refused it'}`);
      const session = newSession(result.signedIn, o.ttl, sessions.nowSeconds());
      addSetCookies(res, await startSession(sessions, session, present));
      // One browser, one session: the one this browser had before ends now (Redis store).
      await sessions.endPrevious(state.prev);
      o.logger.info({ user: session.user.username }, 'signed in');
      res.setHeader('cache-control', 'no-store');
      res.redirect(302, safeRedirectTarget(state.rd, o.publicURL, '/', o.isOwnOrigin));
    } catch (err) {
      fail(req, res, err instanceof GatewayError ? err : badRequest('sign-in failed'));
    }
  });

  const logout = logoutHandlers(o);
  router.get(LOGOUT_PATH, logout.show);
  router.post(LOGOUT_PATH, logout.signOut);
  router.all(LOGOUT_PATH, (req, res) => {
    res.setHeader('allow', 'GET, HEAD, POST');
    fail(
      req,
      res,
      new GatewayError(405, 'MethodNotAllowed', 'sign out with GET (the page) or POST (its button)'),
    );
  });

  router.get('/auth/whoami', async (req, res) => {
    try {
      const identity = await o.authenticate(req, res);
      if (!identity) throw new GatewayError(401, 'Unauthorized', 'not signed in');
      res.setHeader('cache-control', 'no-store');
      res.json(identity);
    } catch (err) {
      fail(req, res, err instanceof GatewayError ? err : badRequest('cannot tell who you are'));
    }
  });

  return router;
}

/** @param now seconds on the session clock */
function newSession(s: SignedIn, ttlMs: number, now: number): Session {
  return {
    sid: newSessionId(),
    user: s.user,
    sub: s.sub,
    iat: now,
    exp: now + Math.floor(ttlMs / 1000),
    seen: now,
    ...tokenTimes(s.tokens, now),
    rt: s.tokens.refresh_token,
    idt: s.tokens.id_token,
  };
}

/** The new session's cookies; a session too large for them is refused with what to do about it. */
async function startSession(
  sessions: BrowserSessions,
  session: Session,
  present: Record<string, string | undefined>,
): Promise<string[]> {
  try {
    return await sessions.start(session, present);
  } catch (err) {
    if (!(err instanceof SessionTooLargeError)) throw err;
    throw forbidden(
      `sign-in refused: your account (${session.user.groups.length} groups) needs ${err.bytes} bytes of session cookies, ` +
        `more than the ${err.maxBytes} this gateway can accept with each request. ` +
        'Ask your admin to keep sessions in Redis (authentication.session.store: redis), which has no such limit',
    );
  }
}
