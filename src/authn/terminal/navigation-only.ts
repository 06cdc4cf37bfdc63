/**
 * The confirmation pages (loopback and device) are for the person, in a tab of
 * their own, and their buttons for the person's own click.
 *
 * In the path form every app's scripts run on the gateway's origin, so the
 * same-origin check and the form token (csrf.ts, form-token.ts) do not stop
 * them: a script can fetch() the page with the visitor's cookie, read the
 * token and post the form. What a script cannot forge is what the browser
 * says about the request (Fetch Metadata, `Sec-*` names no script may set):
 *
 * - a page is shown only to a top-level navigation (`Sec-Fetch-Mode: navigate`,
 *   `Sec-Fetch-Dest: document`): fetch() and XHR send cors/no-cors/same-origin
 *   and `empty`, a frame sends `iframe`;
 * - a button is taken only from such a navigation that a click caused
 *   (`Sec-Fetch-User: ?1`): a script's `form.submit()` or synthetic `click()`
 *   has no user activation and is sent without it. Deny and Cancel too: they
 *   spend the request, and one rule for the whole form is one check. WebKit
 *   (Safari, and every browser on iOS) never sends `Sec-Fetch-User`
 *   (webkit.org/b/247697); requiring it would lock those users out, so a
 *   WebKit User-Agent is let through without it. A script cannot change the
 *   User-Agent of a navigation, so a Chromium or Firefox user is not made to
 *   look like one; in WebKit the rule above and the opener policy below keep
 *   the token from scripts;
 * - a request with no `Sec-Fetch-*` at all is refused: a browser too old to
 *   send them (before Chrome 80, Firefox 90, Safari 16.4), a page reached over
 *   plain http on a host that is not localhost (browsers send them only to
 *   https and loopback), or no browser. Allowing it would let nothing prove
 *   anything; its page says what is needed.
 *
 * A window a script opened on the page stays readable to it (same origin),
 * token included, and a copy of the form posted from the app's page with any
 * click of the visitor's behind it passes every check above. So a page that
 * may be shown is sent with `Cross-Origin-Opener-Policy: same-origin`: the
 * browser gives it a window group of its own, and the opener's handle goes
 * dead — unless the opener sent the same policy from the same origin, which
 * the path form does not let an app do (proxy/rewrite/origin-headers.ts).
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { sendResult } from './page-session.js';

/** To see a confirmation page, or to press one of its buttons. */
export type ConfirmationStep = 'view' | 'press';

/** Why not: the browser said nothing; not a tab's own navigation; no click behind it. */
export type NavigationRefusal = 'no-metadata' | 'not-a-tab' | 'no-click';

const FETCH_METADATA = ['sec-fetch-site', 'sec-fetch-mode', 'sec-fetch-dest', 'sec-fetch-user'];

/**
 * WebKit's User-Agent: `AppleWebKit/` without `Chrome/` (Chromium says both;
 * Safari, WebKitGTK and iOS's Chrome, `CriOS/`, and Firefox, `FxiOS/`, only the first).
 */
export function isWebKit(userAgent: string | undefined): boolean {
  return userAgent !== undefined && /AppleWebKit\//.test(userAgent) && !/Chrom(e|ium)\//.test(userAgent);
}

/** Undefined when the request may take this step. A repeated header (joined by node) matches nothing. */
export function navigationRefusal(
  headers: IncomingHttpHeaders,
  step: ConfirmationStep,
): NavigationRefusal | undefined {
  if (FETCH_METADATA.every((name) => headers[name] === undefined)) return 'no-metadata';
  if (headers['sec-fetch-mode'] !== 'navigate' || headers['sec-fetch-dest'] !== 'document')
    return 'not-a-tab';
  if (step === 'press' && headers['sec-fetch-user'] !== '?1' && !isWebKit(headers['user-agent']))
    return 'no-click';
  return undefined;
}

/** What the person sees instead: what happened, and what to do. */
const REFUSED: Record<NavigationRefusal, { title: string; message: string }> = {
  'no-metadata': {
    title: 'This page needs a current browser',
    message:
      'Your browser did not say how this page was opened (the Sec-Fetch-* headers that Chrome and Edge 80, Firefox 90, Safari 16.4 and later send). Open the link in a current browser, over https: browsers send them only to https sites and localhost.',
  },
  'not-a-tab': {
    title: 'Open this page in a browser tab',
    message:
      'It was requested by a script or shown inside another page, not opened in a tab. Paste the link into the address bar and open it there.',
  },
  'no-click': {
    title: 'Press the button yourself',
    message:
      'This was not sent by a click on the gateway’s page: a script can submit a form, but it cannot click for you. Nothing was changed. Go back to the page, check what it asks, and press the button yourself.',
  },
};

/**
 * True when the request may take this step; otherwise answers 403 with a page
 * that says why (no form, no token) and returns false. Call it first in the
 * handler: nothing is looked up, rate-limited or issued for a refused request.
 */
export function onlyFromATab(req: IncomingMessage, res: ServerResponse, step: ConfirmationStep): boolean {
  const refusal = navigationRefusal(req.headers, step);
  if (refusal) {
    sendResult(req, res, 403, { ...REFUSED[refusal], problem: true });
    return false;
  }
  if (step === 'view') res.setHeader('cross-origin-opener-policy', 'same-origin');
  return true;
}
