/**
 * /auth/logout. A GET only shows the sign-out page; the page's button POSTs,
 * and only a POST that a page of this gateway sent (authz/csrf.ts
 * checkSameOriginForm) signs out. So a link, an <img> or a form on another
 * site cannot sign anybody out, and a prefetch never does.
 *
 * Signing out succeeds only when the session is really gone: with the Redis
 * store that means deleted there. When the store cannot confirm it, the
 * answer is a 503 ("try again") and the browser keeps its cookie, so it can
 * try again — reporting success would leave a stolen handle working. Then
 * every cookie the gateway may have set is expired (each chunk and the
 * sign-in cookie, sent or not), the refresh token is revoked, and the browser
 * goes on to the IdP's end-session endpoint when it has one.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type express from 'express';
import * as client from 'openid-client';
import { checkSameOriginForm } from '../../authz/csrf.js';
import type { Logger } from '../../observability/logger.js';
import { asGatewayError, sendError, wantsHTML } from '../../web/error-response.js';
import { sendPage } from '../../web/pages/send.js';
import { renderSignOutPage } from '../../web/pages/sign-out.js';
import { serviceUnavailable, type GatewayError } from '../../errors.js';
import type { BrowserSessions } from '../session/browser-sessions.js';
import { addSetCookies, expireAll } from '../session/cookie-jar.js';
import type { Session } from '../session/session.js';
import type { IdentityProvider } from './identity-provider.js';
import { safeRedirectTarget } from './redirect-target.js';

export const LOGOUT_PATH = '/auth/logout';

export interface LogoutOptions {
  idp?: IdentityProvider;
  sessions?: BrowserSessions;
  publicURL: URL;
  isOwnOrigin?: (origin: string) => boolean;
  /** Told of every session signed out, so it ends on routed hosts too (handoff/). */
  onSignOut?: (session: Session) => void;
  logger: Logger;
}

const notSignedOut = () =>
  serviceUnavailable(
    'signing out did not complete and your session may still be active: the session store is not answering; try again in a moment',
  );

type Handler = (req: express.Request, res: express.Response) => Promise<void>;

export function logoutHandlers(o: LogoutOptions): { show: Handler; signOut: Handler } {
  const target = (req: express.Request) => safeRedirectTarget(req.query.rd, o.publicURL, '/', o.isOwnOrigin);
  // The form posts back here with the same rd; the page never echoes an unsafe one.
  const action = (req: express.Request) => {
    const rd = target(req);
    return rd === '/' ? LOGOUT_PATH : `${LOGOUT_PATH}?rd=${encodeURIComponent(rd)}`;
  };
  // The POST is answered with a redirect to the IdP's end-session endpoint: `form-action` must allow it.
  const formTargets = o.idp ? [new URL(o.idp.settings.issuer).origin] : [];

  function answer(
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    a: string,
    error?: string,
    username?: string,
  ) {
    sendPage(req, res, status, renderSignOutPage({ action: a, error, username }), { formTargets });
  }

  function refuse(req: express.Request, res: express.Response, err: GatewayError): void {
    if (wantsHTML(req)) return answer(req, res, err.status, action(req), err.message);
    sendError(req, res, err);
  }

  async function show(req: express.Request, res: express.Response): Promise<void> {
    if (!o.sessions) return res.redirect(302, target(req));
    const { session } = await o.sessions.current(req).catch(() => ({ session: undefined }));
    answer(req, res, 200, action(req), undefined, session?.user.username);
  }

  async function signOut(req: express.Request, res: express.Response): Promise<void> {
    res.setHeader('cache-control', 'no-store');
    try {
      checkSameOriginForm(req, o.publicURL.origin);
    } catch (err) {
      return refuse(req, res, asGatewayError(err));
    }
    if (!o.sessions) return res.redirect(303, target(req));
    let session: Session | undefined;
    try {
      ({ session } = await o.sessions.current(req));
      if (session) {
        await o.sessions.end(session);
        o.onSignOut?.(session);
      }
    } catch (err) {
      const e = asGatewayError(err);
      o.logger.warn(
        { user: session?.user.username, err: e.message },
        'sign-out failed; the session may still be alive',
      );
      return refuse(req, res, e.status === 503 ? notSignedOut() : e);
    }
    addSetCookies(res, expireAll(o.sessions.cookies));
    let location = target(req);
    if (session) {
      location = (await endSessionURL(o, session).catch(() => undefined)) ?? location;
      o.logger.info({ user: session.user.username }, 'signed out');
    }
    res.redirect(303, location);
  }

  return { show, signOut };
}

/**
 * The IdP's end-session URL when it has one: RP-initiated logout with
 * id_token_hint when the store kept the id_token, client_id otherwise.
 */
async function endSessionURL(o: LogoutOptions, session: Session): Promise<string | undefined> {
  if (!o.idp?.settings.endSessionRedirect) return undefined;
  const config = await o.idp.config();
  if (!config.serverMetadata().end_session_endpoint) return undefined;
  const params: Record<string, string> = { post_logout_redirect_uri: new URL('/', o.publicURL).href };
  if (session.idt) params.id_token_hint = session.idt;
  else params.client_id = o.idp.settings.clientID;
  return client.buildEndSessionUrl(config, params).href;
}
