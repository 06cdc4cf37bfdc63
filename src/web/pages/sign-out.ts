/**
 * The sign-out page: what GET /auth/logout shows. Signing out changes state,
 * so it happens only when this page's button posts the form (a link, an
 * <img>, a prefetch or another site cannot sign anybody out). The same page
 * says so when a sign-out could not be completed, with the button to try again.
 */
import { escapeHTML, page } from './layout.js';

export interface SignOutPageOptions {
  /** Where the form posts (`/auth/logout`, with `?rd=` when there is one). */
  action: string;
  /** The user signed in now, when known. */
  username?: string;
  /** Why the last attempt did not sign out, in plain words. */
  error?: string;
}

export function renderSignOutPage(o: SignOutPageOptions): string {
  const problem = o.error
    ? `<div class="alert" role="alert"><h2>You are not signed out yet</h2><p>${escapeHTML(o.error)}</p></div>`
    : '';
  const who = o.username
    ? `<p>You are signed in as <strong>${escapeHTML(o.username)}</strong>.</p>`
    : '<p>This ends your kube-bastion session in this browser, if there is one.</p>';
  return page(
    'Sign out',
    `<h1>Sign out of kube-bastion</h1>${problem}${who}
<p>Signing out ends your gateway session and the connections (WebSockets) opened with it. Where the identity provider supports it, you are signed out there too.</p>
<form method="post" action="${escapeHTML(o.action)}"><button type="submit">${o.error ? 'Try again' : 'Sign out'}</button></form>
<p><a href="/">Back to the portal</a></p>`,
  );
}
