/**
 * What the confirmation pages share: the browser session they act for (or a
 * trip to sign in first, then back), the end of the terminal sign-in that
 * session may confirm, the identity a terminal receives, and the answers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkSameOriginForm } from '../../authz/csrf.js';
import { GatewayError } from '../../errors.js';
import { sendPage } from '../../web/pages/send.js';
import { renderTerminalResult, type TerminalResultOptions } from '../../web/pages/terminal-sign-in.js';
import { AUTHENTICATED_GROUP, type Identity } from '../../request/identity.js';
import type { TerminalIdentity } from './protocol.js';

/** The browser session a confirmation page acts for. */
export interface BrowserSignedIn {
  identity: Identity;
  /** The session's id: form tokens are bound to it. */
  sid: string;
  /** When the session ends (ms). */
  endsAt: number;
}

export interface PageSessionDeps {
  /** The request's browser session (cookie only: a bearer token can never confirm a sign-in). */
  browserSession(req: IncomingMessage, res: ServerResponse): Promise<BrowserSignedIn | undefined>;
  publicURL: URL;
  loginPath: string;
  /** Longest terminal sign-in (ms). */
  maxLifetime: number;
  now: () => number;
}

/** The identity a terminal signs in as: the session's, without the group every authenticated caller gets again. */
export function terminalIdentity(identity: Identity): TerminalIdentity {
  return {
    username: identity.username,
    ...(identity.uid ? { uid: identity.uid } : {}),
    groups: identity.groups.filter((g) => g !== AUTHENTICATED_GROUP),
    ...(identity.email ? { email: identity.email } : {}),
    extra: identity.extra,
  };
}

/** Where signing in (again) starts and comes back to this very page. */
export const signInURL = (deps: PageSessionDeps, req: IncomingMessage) =>
  `${deps.loginPath}?rd=${encodeURIComponent(req.url ?? '/')}`;

/**
 * The session, or undefined after answering: a GET is sent to sign in and
 * comes back; a POST without a session cannot be replayed after sign-in, so it says so.
 */
export async function sessionOrSignIn(
  deps: PageSessionDeps,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<BrowserSignedIn | undefined> {
  let signedIn: BrowserSignedIn | undefined;
  try {
    signedIn = await deps.browserSession(req, res);
  } catch (err) {
    // An ended or invalid session signs in anew; a store that is down is an error page.
    if (!(err instanceof GatewayError) || err.status !== 401) throw err;
  }
  if (signedIn) return signedIn;
  if (req.method === 'GET' || req.method === 'HEAD') {
    res.writeHead(302, { location: signInURL(deps, req), 'cache-control': 'no-store' }).end();
    return undefined;
  }
  sendResult(req, res, 401, {
    title: 'Please sign in',
    message: 'Your browser session has ended. Start the sign-in from the terminal again.',
    problem: true,
  });
  return undefined;
}

/** The end of a terminal sign-in confirmed now by this session: never after the session's own end. */
export const familyEnd = (deps: PageSessionDeps, signedIn: BrowserSignedIn) =>
  Math.min(deps.now() + deps.maxLifetime, signedIn.endsAt);

/** Refuses a form that a page of this gateway did not send (throws a 403 GatewayError). */
export function checkForm(deps: PageSessionDeps, req: IncomingMessage): void {
  checkSameOriginForm(req, deps.publicURL.origin);
}

export function sendResult(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  o: TerminalResultOptions,
): void {
  sendPage(req, res, status, renderTerminalResult(o), { headers: { 'referrer-policy': 'no-referrer' } });
}

export const signedInBar = (signedIn: BrowserSignedIn, logoutPath = '/auth/logout') => ({
  username: signedIn.identity.username,
  logoutPath,
});
