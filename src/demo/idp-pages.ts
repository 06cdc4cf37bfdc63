/** Pages of the demo IdP: sign in (lists the demo users), confirm sign-out, signed out. */
import { escapeHTML } from '../web/pages/layout.js';
import type { DemoUser } from './users.js';

function idpPage(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"><title>${escapeHTML(title)} · demo IdP</title><link rel="stylesheet" href="/_demo/style.css"></head>
<body><header class="top"><span class="brand">Demo identity provider</span><span class="muted">for kube-bastion demo only</span></header>
<main id="main">${body}</main></body></html>`;
}

export function renderIdPLogin(o: {
  action: string;
  users: readonly DemoUser[];
  error?: string;
  login?: string;
}): string {
  const rows = o.users
    .map(
      (u) =>
        `<li><strong>${escapeHTML(u.username)}</strong> <span class="muted">groups: ${escapeHTML(u.groups.join(', '))}</span></li>`,
    )
    .join('');
  const error = o.error ? `<p class="alert" role="alert">${escapeHTML(o.error)}</p>` : '';
  return idpPage(
    'Sign in',
    `<h1>Sign in</h1>${error}
<p>This is the demo's built-in identity provider. Sign in as one of these users, with <strong>any password</strong>:</p>
<ul class="users">${rows}</ul>
<form method="post" action="${escapeHTML(o.action)}" class="login">
<p><label for="login">Username</label><input id="login" name="login" autocomplete="username" required autofocus value="${escapeHTML(o.login ?? '')}"></p>
<p><label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password"></p>
<p><button type="submit">Sign in</button></p>
</form>`,
  );
}

/** `form` is oidc-provider's hidden form (id `op.logoutForm`) that the buttons submit. */
export function renderIdPLogout(form: string): string {
  return idpPage(
    'Sign out',
    `<h1>Sign out of the demo IdP?</h1>${form}
<p>You have signed out of kube-bastion. Also sign out here, so you can sign in as someone else next time.</p>
<p><button type="submit" form="op.logoutForm" name="logout" value="yes" autofocus>Yes, sign me out</button>
<button type="submit" form="op.logoutForm" class="secondary">No, stay signed in</button></p>`,
  );
}

export function renderIdPSignedOut(): string {
  return idpPage(
    'Signed out',
    '<h1>Signed out</h1><p>You are signed out. Open the gateway again to sign in.</p>',
  );
}
