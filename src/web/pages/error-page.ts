import type { GatewayError } from '../../errors.js';
import { escapeHTML, page } from './layout.js';

/** What a person should do next, by status. */
const ADVICE: Record<number, string> = {
  400: 'The address is not one kube-bastion understands. Check the URL form: /api/v1/namespaces/NAMESPACE/services/NAME[:PORT]/proxy/.',
  401: 'You are not signed in, or your session has ended. Sign in and try again.',
  403: 'You are signed in, but not allowed to reach this. Ask your cluster admin for access to this namespace.',
  404: 'Nothing by that name exists. Check the namespace and name, or open the portal to see what you can reach.',
  405: 'This method is not allowed here.',
  429: 'Too many requests. Wait a moment and try again.',
  500: 'Something went wrong inside the gateway. Try again; if it persists, give your admin the request ID below.',
  502: 'The service answered with something kube-bastion could not use.',
  503: 'The service is not available right now: it may have no ready pods. Try again in a moment.',
  504: 'The service took too long to answer.',
};

export interface ErrorPageOptions {
  username?: string;
  requestId?: string;
  loginPath?: string;
}

export function renderErrorPage(err: GatewayError, opts: ErrorPageOptions): string {
  const advice = ADVICE[err.status] ?? 'The request could not be completed.';
  const who = opts.username ? `<p>Signed in as <strong>${escapeHTML(opts.username)}</strong>.</p>` : '';
  const signIn =
    err.status === 401 && opts.loginPath ? `<p><a class="button" href="${escapeHTML(opts.loginPath)}">Sign in</a></p>` : '';
  const rid = opts.requestId ? `<p class="muted">Request ID: <code>${escapeHTML(opts.requestId)}</code></p>` : '';
  return page(
    `${err.status} ${err.reason || 'Error'}`,
    `<h1>${err.status} · ${escapeHTML(err.reason || 'Error')}</h1>
<p class="message">${escapeHTML(err.message)}</p>
<p>${escapeHTML(advice)}</p>${who}${signIn}
<p><a href="/">Back to the portal</a></p>${rid}`,
  );
}
