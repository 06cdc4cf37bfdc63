/**
 * The loopback flow's page (RFC 8252 §7.3, PKCE S256):
 *
 *   GET  /auth/cli/authorize?port=&code_challenge=&code_challenge_method=S256&state=[&client_name=]
 *        → signed in? (else sign in, and back) → "Sign in the kube-bastion command line?"
 *   POST /auth/cli/authorize  (Continue / Cancel, same-origin, form token)
 *        → 303 http://127.0.0.1:<port>/callback?code=…&state=…   (or ?error=access_denied)
 *
 * The redirect target is built here from a port number and nothing else:
 * no URL, host or path from the request ever becomes a redirect (Pomerium
 * CVE-2021-29651, where `pomerium_redirect_uri` sent a token anywhere). The
 * code is good once, for a minute, and only with the verifier (loopback-codes.ts);
 * a link someone else sends only ever shows this page, and continuing needs
 * a click on it.
 *
 * A page's form decides once: posting it again (a double click) answers the
 * same code, derived from the form's token, and makes no other. A person may
 * confirm CONFIRMATIONS_PER_PERSON sign-ins per window on a replica, since
 * fresh pages are theirs for the asking; how many sign-ins they hold at once
 * is bounded where the sign-in starts (families.ts).
 */
import type express from 'express';
import { sendPage } from '../../web/pages/send.js';
import { renderLoopbackConfirm } from '../../web/pages/terminal-sign-in.js';
import type { FormTokens } from './form-token.js';
import type { LoopbackCodes } from './loopback-codes.js';
import { onlyFromATab } from './navigation-only.js';
import {
  type BrowserSignedIn,
  checkForm,
  familyEnd,
  sendResult,
  sessionOrSignIn,
  signedInBar,
  signInURL,
  terminalIdentity,
  type PageSessionDeps,
} from './page-session.js';
import {
  CHALLENGE_SHAPE,
  LOOPBACK_CALLBACK_PATH,
  LOOPBACK_HOST,
  LOOPBACK_PORTS,
  STATE_SHAPE,
  TERMINAL_PATHS,
} from './protocol.js';
import { RateLimit } from './rate-limit.js';

export interface LoopbackRequest {
  port: number;
  challenge: string;
  state: string;
  client?: string;
}

const one = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** What the terminal calls itself, made safe to show: printable, short. */
export function clientName(v: unknown): string | undefined {
  const text = one(v)
    ?.replace(/[^\x20-\x7e]/g, '')
    .trim()
    .slice(0, 64);
  return text || undefined;
}

/** The request's parameters, checked; undefined when any is missing or malformed. */
export function parseLoopbackRequest(q: Record<string, unknown>): LoopbackRequest | undefined {
  const portText = one(q.port);
  const port = portText && /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  const challenge = one(q.code_challenge);
  const state = one(q.state);
  if (!(port >= LOOPBACK_PORTS.min && port <= LOOPBACK_PORTS.max)) return undefined;
  if (one(q.code_challenge_method) !== 'S256' || !challenge || !CHALLENGE_SHAPE.test(challenge))
    return undefined;
  if (!state || !STATE_SHAPE.test(state)) return undefined;
  return { port, challenge, state, client: clientName(q.client_name) };
}

/** The only place a loopback redirect is made: `http://127.0.0.1:<port>/callback?…`. */
export function loopbackRedirect(port: number, params: Record<string, string>): string {
  const url = new URL(`http://${LOOPBACK_HOST}:${port}${LOOPBACK_CALLBACK_PATH}`);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.href;
}

const loopbackOrigin = (port: number) => `http://${LOOPBACK_HOST}:${port}`;
const subject = (r: LoopbackRequest) => `${r.port}\n${r.challenge}\n${r.state}`;

export interface LoopbackPageDeps extends PageSessionDeps {
  codes: LoopbackCodes;
  forms: FormTokens;
  onConfirmed?(user: string, client: string | undefined): void;
}

/** Confirmations one person may make per window, per replica: far more than anyone clicks. */
export const CONFIRMATIONS_PER_PERSON = { limit: 30, windowMs: 10 * 60_000 } as const;

/** Why a posted confirmation was not acted on (the status, and the page). */
const REFUSED = {
  forged: {
    status: 403,
    title: 'This confirmation was not accepted',
    message:
      'It did not come from the page this gateway showed you for this sign-in, or that page is too old. Run `kube-bastion login` again.',
  },
  tooMany: {
    status: 429,
    title: 'Too many terminal sign-ins',
    message:
      'You confirmed many terminal sign-ins just now. Wait a few minutes, then run `kube-bastion login` again.',
  },
} as const;

const badLink = {
  title: 'This sign-in link is not valid',
  message:
    'The link is incomplete or was changed. Run `kube-bastion login` again and use the link it opens or prints.',
  problem: true,
};

export function loopbackHandlers(deps: LoopbackPageDeps) {
  const confirmations = new RateLimit(CONFIRMATIONS_PER_PERSON.limit, CONFIRMATIONS_PER_PERSON.windowMs);

  /**
   * Whether this post may act: `first` (its form is now spent), `again` (spent before: a double
   * click, or Back and the button again — it answers as the first did, and makes nothing), or
   * why not.
   */
  async function admit(s: BrowserSignedIn, token: unknown, request: LoopbackRequest) {
    if (!deps.forms.check(token, s.sid, 'loopback', subject(request))) return REFUSED.forged;
    // Each form spent is a mark in the shared store until the form's expiry: those are what count.
    if (confirmations.exceeded(s.identity.username)) return REFUSED.tooMany;
    if (!(await deps.forms.spend(token as string))) return 'again';
    confirmations.take(s.identity.username);
    return 'first';
  }

  async function show(req: express.Request, res: express.Response): Promise<void> {
    if (!onlyFromATab(req, res, 'view')) return;
    const request = parseLoopbackRequest(req.query);
    if (!request) return sendResult(req, res, 400, badLink);
    const signedIn = await sessionOrSignIn(deps, req, res);
    if (!signedIn) return;
    const fields = {
      port: String(request.port),
      code_challenge: request.challenge,
      code_challenge_method: 'S256',
      state: request.state,
      ...(request.client ? { client_name: request.client } : {}),
      form_token: deps.forms.issue(signedIn.sid, 'loopback', subject(request)),
    };
    const html = renderLoopbackConfirm({
      user: signedInBar(signedIn),
      client: request.client,
      port: request.port,
      endsAt: familyEnd(deps, signedIn),
      now: deps.now(),
      action: TERMINAL_PATHS.authorize,
      fields,
      renewURL: signInURL(deps, req),
    });
    // The answer to the form is a redirect to the loopback port: the form-action must allow it.
    sendPage(req, res, 200, html, { formTargets: [loopbackOrigin(request.port)] });
  }

  async function decide(req: express.Request, res: express.Response): Promise<void> {
    if (!onlyFromATab(req, res, 'press')) return;
    res.setHeader('cache-control', 'no-store');
    checkForm(deps, req);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const request = parseLoopbackRequest(body);
    if (!request) return sendResult(req, res, 400, badLink);
    const signedIn = await sessionOrSignIn(deps, req, res);
    if (!signedIn) return;
    const admitted = await admit(signedIn, body.form_token, request);
    if (typeof admitted === 'object') {
      const { status, ...page } = admitted;
      return sendResult(req, res, status, { user: signedInBar(signedIn), ...page, problem: true });
    }
    res.setHeader('referrer-policy', 'no-referrer');
    if (body.decision !== 'allow') {
      res.redirect(303, loopbackRedirect(request.port, { error: 'access_denied', state: request.state }));
      return;
    }
    const code = deps.forms.codeFor(body.form_token as string);
    if (admitted === 'first') {
      await deps.codes.issue(
        {
          challenge: request.challenge,
          identity: terminalIdentity(signedIn.identity),
          endsAt: familyEnd(deps, signedIn),
          port: request.port,
          ...(request.client ? { client: request.client } : {}),
        },
        code,
      );
      deps.onConfirmed?.(signedIn.identity.username, request.client);
    }
    res.redirect(303, loopbackRedirect(request.port, { code, state: request.state }));
  }

  return { show, decide };
}
