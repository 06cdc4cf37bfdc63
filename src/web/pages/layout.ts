/**
 * The shell of every page the gateway itself serves: one stylesheet, no
 * script, a header that says who is signed in, and a skip link for keyboards.
 */
export function escapeHTML(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export interface SignedIn {
  username: string;
  groups?: readonly string[];
  /** Where the sign-out form posts; no button without it. */
  logoutPath?: string;
}

export interface PageOptions {
  user?: SignedIn;
  /**
   * The gateway's origin when the page is served on another host (a
   * host-routed service): there `/…` is the upstream app's, so the
   * stylesheet, portal and sign-out links must name the gateway.
   */
  gatewayOrigin?: string;
}

function signedInBar(user: SignedIn, at: (path: string) => string): string {
  const signOut = user.logoutPath
    ? `<form method="post" action="${escapeHTML(at(user.logoutPath))}" class="inline"><button type="submit" class="secondary">Sign out</button></form>`
    : '';
  return `<div class="who"><span>Signed in as <strong>${escapeHTML(user.username)}</strong></span>${signOut}</div>`;
}

/** A root-relative gateway path, made absolute when the page is served on another host. */
export function gatewayLink(path: string, gatewayOrigin: string | undefined): string {
  return gatewayOrigin && path.startsWith('/') ? gatewayOrigin + path : path;
}

export function page(title: string, body: string, opts: PageOptions = {}): string {
  const at = (path: string) => gatewayLink(path, opts.gatewayOrigin);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin"><meta name="robots" content="noindex">
<link rel="icon" href="data:,"><title>${escapeHTML(title)} · kube-bastion</title><link rel="stylesheet" href="${escapeHTML(at('/_bastion/style.css'))}"></head>
<body><a class="skip" href="#main">Skip to content</a>
<header class="top"><a class="brand" href="${escapeHTML(at('/'))}">kube-bastion</a>${opts.user ? signedInBar(opts.user, at) : ''}</header>
<main id="main" tabindex="-1">${body}</main></body></html>`;
}
