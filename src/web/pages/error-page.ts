/**
 * The HTML page a browser gets instead of a Kubernetes `Status`: what
 * happened, in plain words, and what to do about it. The technical message is
 * shown too, so it can be pasted into a support request.
 */
import type { GatewayError } from '../../errors.js';
import { escapeHTML, gatewayLink, page } from './layout.js';

interface Explanation {
  title: string;
  advice: string;
}

const EXPLAIN: Record<number, Explanation> = {
  400: {
    title: 'This address is not valid',
    advice:
      'kube-bastion could not understand this URL. Service links look like /api/v1/namespaces/NAMESPACE/services/NAME:PORT/proxy/ — open the portal to get a working link.',
  },
  401: {
    title: 'Please sign in',
    advice: 'You are not signed in, or your session has ended. Sign in and try again.',
  },
  403: {
    title: 'You do not have access to this',
    advice:
      'You are signed in, but nothing grants you this in that namespace. If you need it, ask your cluster admin for access and tell them the line above.',
  },
  404: {
    title: 'Nothing found here',
    advice:
      'There is no service, pod or page by that name. Check the namespace and the name, or open the portal to see what you can reach.',
  },
  405: {
    title: 'This method is not allowed',
    advice: 'The gateway does not accept this kind of request here.',
  },
  413: {
    title: 'The request is too large',
    advice: 'The upload is larger than this gateway accepts. Ask your admin if you need a larger limit.',
  },
  429: { title: 'Too many requests', advice: 'Slow down a little and try again in a moment.' },
  431: {
    title: 'Your browser sent too much',
    advice:
      'The request carried more headers and cookies than the gateway accepts. If the gateway removed its cookies, sign in again. If this keeps happening, tell your admin: a user with very many groups needs the Redis session store.',
  },
  500: {
    title: 'Something went wrong in the gateway',
    advice: 'Try again. If it keeps happening, give your admin the request ID below.',
  },
  502: {
    title: 'The service could not be reached',
    advice:
      'kube-bastion could not connect to the service, or it closed the connection. The pods may be restarting: try again in a minute. If it persists, the service owner should check their pods.',
  },
  503: {
    title: 'The service is not available right now',
    advice: 'Something kube-bastion needs is not answering. Try again in a moment.',
  },
  504: {
    title: 'The service took too long to answer',
    advice:
      'The service did not answer in time. It may be overloaded or stuck: try again, and tell the service owner if it keeps happening.',
  },
};

const NO_ENDPOINTS =
  'The service exists, but none of its pods is ready to take requests (it has no ready endpoints). It may be starting, scaled to zero or failing its readiness checks. Try again in a minute; if it stays this way, tell the service owner.';

/** Picks words for a 403 out of the apiserver-style message (`User "bob" cannot get resource "services/proxy" … "team-a"`). */
export function describeForbidden(message: string): string | undefined {
  const m =
    /User "([^"]*)" cannot (\S*) resource "([^"/]*)\/proxy" in API group "" (?:in the namespace "([^"]*)"|at the cluster scope)/.exec(
      message,
    );
  if (!m) return undefined;
  const [, user, verb, resource, namespace] = m;
  const what = `${verb || 'use this method on'} ${resource}`;
  return namespace !== undefined
    ? `${user} may not ${what} in the namespace ${namespace}.`
    : `${user} may not ${what} (cluster-wide).`;
}

export interface ErrorPageOptions {
  username?: string;
  requestId?: string;
  loginPath?: string;
  /** See PageOptions.gatewayOrigin. */
  gatewayOrigin?: string;
}

const TOKENS_ONLY =
  'This gateway has no browser sign-in: it accepts bearer tokens only (for scripts and CI). Ask your admin how you are meant to reach it.';

function adviceFor(err: GatewayError, opts: ErrorPageOptions): string {
  if (err.status === 503 && /no endpoints available/.test(err.message)) return NO_ENDPOINTS;
  if (err.status === 401 && !opts.loginPath) return TOKENS_ONLY;
  return EXPLAIN[err.status]?.advice ?? 'The request could not be completed.';
}

export function renderErrorPage(err: GatewayError, opts: ErrorPageOptions): string {
  const title = EXPLAIN[err.status]?.title ?? 'The request could not be completed';
  const plain = err.status === 403 ? describeForbidden(err.message) : undefined;
  const summary = plain ? `<p class="lead">${escapeHTML(plain)}</p>` : '';
  const who = opts.username
    ? `<p>You are signed in as <strong>${escapeHTML(opts.username)}</strong>.</p>`
    : '';
  const signIn =
    (err.status === 401 || err.status === 431) && opts.loginPath
      ? `<p><a class="button" href="${escapeHTML(opts.loginPath)}">Sign in</a></p>`
      : '';
  const rid = opts.requestId
    ? `<p class="muted">Request ID: <code>${escapeHTML(opts.requestId)}</code></p>`
    : '';
  return page(
    title,
    `<p class="status">HTTP ${err.status}${err.reason ? ` · ${escapeHTML(err.reason)}` : ''}</p>
<h1>${escapeHTML(title)}</h1>
${summary}<p class="message" role="note" aria-label="What the gateway said">${escapeHTML(err.message)}</p>
<p>${escapeHTML(adviceFor(err, opts))}</p>${who}${signIn}
<p><a href="${escapeHTML(gatewayLink('/', opts.gatewayOrigin))}">Go to the portal</a> to see the services you can open.</p>${rid}`,
    { gatewayOrigin: opts.gatewayOrigin },
  );
}
