/**
 * The sign-in page: shown when there is more than one way to sign in, or when
 * signing in went wrong (the IdP refused, the login expired, state mismatch)
 * and the person needs a way to start again.
 */
import { escapeHTML, page } from './layout.js';

export interface SignInMethod {
  /** Button text, e.g. "Sign in with Example SSO". */
  label: string;
  /** Where the button goes (a same-origin path such as `/auth/login?provider=x&rd=/`). */
  href: string;
  description?: string;
}

export interface SignInPageOptions {
  methods: readonly SignInMethod[];
  /** What went wrong, in plain words; the page then offers to start again. */
  error?: string;
  /** Shown under the buttons, e.g. the users of the demo IdP. */
  note?: string;
}

export function renderSignInPage(opts: SignInPageOptions): string {
  const problem = opts.error
    ? `<div class="alert" role="alert"><h2>Signing in did not work</h2><p>${escapeHTML(opts.error)}</p><p>Start again below. If it keeps failing, close the browser tab, open the gateway again, and tell your admin the time it happened.</p></div>`
    : '';
  const buttons = opts.methods
    .map(
      (m) =>
        `<li><a class="button" href="${escapeHTML(m.href)}">${escapeHTML(m.label)}</a>${m.description ? ` <span class="muted">${escapeHTML(m.description)}</span>` : ''}</li>`,
    )
    .join('');
  const none =
    opts.methods.length === 0
      ? '<p>Browser sign-in is not configured on this gateway. Ask your admin.</p>'
      : '';
  const note = opts.note ? `<p class="muted">${escapeHTML(opts.note)}</p>` : '';
  return page(
    'Sign in',
    `<h1>Sign in to kube-bastion</h1>${problem}
<p>kube-bastion lets you open web services running in the Kubernetes cluster. Sign in with your company account to continue.</p>
<ul class="methods">${buttons}</ul>${none}${note}`,
  );
}
