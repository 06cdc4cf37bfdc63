/**
 * The device flow's endpoints (RFC 8628):
 *
 *   POST /auth/cli/device              the terminal starts: device_code, user_code, URIs, interval
 *   GET  /auth/device[?user_code=]     a signed-in person enters the code; the page shows which
 *                                      device asks (its name, its address, when it started) and a
 *                                      warning to confirm only what they started themselves
 *                                      (a tab's own navigation only: navigation-only.ts)
 *   POST /auth/device                  Confirm / Deny (a click; same-origin, form token bound to the code)
 *
 * Starting is unauthenticated, so it is rate-limited per address and per
 * replica (each start writes to the shared store); looking codes up is
 * rate-limited per person (§5.1: guessing). The terminal polls the token
 * endpoint (token-endpoint.ts).
 */
import type express from 'express';
import { sendPage } from '../../web/pages/send.js';
import { renderDeviceConfirm, renderDeviceEntry } from '../../web/pages/terminal-sign-in.js';
import type { DeviceGrants } from './device-grants.js';
import type { FormTokens } from './form-token.js';
import { clientName } from './loopback-pages.js';
import { onlyFromATab } from './navigation-only.js';
import { OAuthError, sendJSON } from './oauth-error.js';
import {
  checkForm,
  familyEnd,
  sendResult,
  sessionOrSignIn,
  signedInBar,
  signInURL,
  terminalIdentity,
  type BrowserSignedIn,
  type PageSessionDeps,
} from './page-session.js';
import { displayUserCode, normalizeUserCode, TERMINAL_PATHS } from './protocol.js';
import { RateLimit } from './rate-limit.js';
import { digest } from './secrets.js';

export interface DevicePageDeps extends PageSessionDeps {
  grants: DeviceGrants;
  forms: FormTokens;
  clientIP(req: express.Request): string;
  onDecided?(user: string, decision: string, client: string): void;
}

/** Why a decision was not recorded, for the person who tried. */
const UNDECIDED = {
  expired: { title: 'This code has expired', message: 'Start again on the device.' },
  unknown: {
    title: 'No sign-in is waiting for this code',
    message: 'It may have expired or been used. Start again on the device.',
  },
  'already-decided': {
    title: 'This code was already used',
    message: 'Someone already confirmed or denied this sign-in; nothing was changed.',
  },
} as const;

const one = (v: unknown) => (typeof v === 'string' ? v : undefined);

export function deviceHandlers(deps: DevicePageDeps) {
  const perAddress = new RateLimit(10, 60_000);
  const perReplica = new RateLimit(120, 60_000);
  const guesses = new RateLimit(10, 10 * 60_000);

  async function start(req: express.Request, res: express.Response): Promise<void> {
    const address = deps.clientIP(req);
    if (!perAddress.take(address) || !perReplica.take('all'))
      throw new OAuthError(
        'slow_down',
        'too many sign-ins were started just now; try again in a minute',
        429,
      );
    const body = (req.body ?? {}) as Record<string, unknown>;
    const name = clientName(body.client_name) ?? 'an unnamed device';
    sendJSON(res, 200, await deps.grants.start(name, address));
  }

  const entry = (
    req: express.Request,
    res: express.Response,
    s: BrowserSignedIn,
    status: number,
    typed?: string,
    error?: string,
  ) =>
    sendPage(
      req,
      res,
      status,
      renderDeviceEntry({ user: signedInBar(s), action: TERMINAL_PATHS.devicePage, typed, error }),
    );

  async function show(req: express.Request, res: express.Response): Promise<void> {
    if (!onlyFromATab(req, res, 'view')) return;
    const signedIn = await sessionOrSignIn(deps, req, res);
    if (!signedIn) return;
    const typed = one(req.query.user_code)?.slice(0, 32);
    if (typed === undefined) return entry(req, res, signedIn, 200);
    const who = signedIn.identity.username;
    if (guesses.exceeded(who))
      return entry(
        req,
        res,
        signedIn,
        429,
        typed,
        'Too many codes were tried. Wait a few minutes, then try again.',
      );
    const found = await deps.grants.find(typed);
    if (!found) {
      guesses.take(who);
      return entry(
        req,
        res,
        signedIn,
        404,
        typed,
        `No sign-in is waiting for the code “${typed}”. Check it, or start again on the device: codes expire after a few minutes.`,
      );
    }
    const { record } = found;
    if (record.status !== 'pending')
      return sendResult(req, res, 409, {
        user: signedInBar(signedIn),
        title: 'This code was already used',
        message: `The sign-in with this code was already ${record.status === 'approved' ? 'confirmed' : 'denied'}. Nothing more can be done with it.`,
        problem: true,
      });
    const now = deps.now();
    if (now >= record.expiresAt)
      return entry(req, res, signedIn, 410, typed, 'This code has expired. Start again on the device.');
    const code = displayUserCode(normalizeUserCode(typed)!);
    const html = renderDeviceConfirm({
      user: signedInBar(signedIn),
      code,
      client: record.client,
      address: record.address,
      startedAt: record.startedAt,
      expiresAt: record.expiresAt,
      endsAt: familyEnd(deps, signedIn),
      now,
      action: TERMINAL_PATHS.devicePage,
      fields: { user_code: code, form_token: deps.forms.issue(signedIn.sid, 'device', record.userCode) },
      renewURL: signInURL(deps, req),
    });
    sendPage(req, res, 200, html);
  }

  async function decide(req: express.Request, res: express.Response): Promise<void> {
    if (!onlyFromATab(req, res, 'press')) return;
    res.setHeader('cache-control', 'no-store');
    checkForm(deps, req);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const signedIn = await sessionOrSignIn(deps, req, res);
    if (!signedIn) return;
    const user = signedInBar(signedIn);
    const code = normalizeUserCode(one(body.user_code) ?? '');
    if (!code || !deps.forms.check(body.form_token, signedIn.sid, 'device', digest(code)))
      return sendResult(req, res, 403, {
        user,
        title: 'This confirmation was not accepted',
        message:
          'It did not come from the page this gateway showed you for this code, or that page is too old. Enter the code again.',
        problem: true,
        link: { href: TERMINAL_PATHS.devicePage, text: 'Enter a code' },
      });
    const decision = body.decision === 'allow' ? 'approved' : 'denied';
    const { result, client } = await deps.grants.decide(
      code,
      decision,
      terminalIdentity(signedIn.identity),
      familyEnd(deps, signedIn),
    );
    if (result !== 'done') return sendResult(req, res, 409, { user, ...UNDECIDED[result], problem: true });
    deps.onDecided?.(signedIn.identity.username, decision, client ?? '');
    sendResult(req, res, 200, {
      user,
      title: decision === 'approved' ? 'Device signed in' : 'Sign-in denied',
      message:
        decision === 'approved'
          ? `The device is signed in as ${signedIn.identity.username}. You can go back to it now.`
          : 'The device was not signed in. It will tell its user so.',
    });
  }

  return { start, show, decide };
}
