/**
 * The pages of a sign-in from a terminal (authn/terminal/): the loopback
 * confirmation ("sign in the kube-bastion command line on this computer?"),
 * the device-code entry, the device confirmation (which device asks, from
 * where, since when, with a warning to confirm only what you started), and
 * the result. Every decision is a button that POSTs a form carrying a
 * per-session token; nothing happens on a GET.
 */
import { escapeHTML, page, type SignedIn } from './layout.js';

/** `2026-12-03 14:03 UTC`: one unambiguous form, whatever the browser's locale. */
export function formatTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** `3 minutes ago`, `just now`. */
export function ago(ms: number, now: number): string {
  const minutes = Math.floor((now - ms) / 60_000);
  if (minutes < 1) return 'less than a minute ago';
  return minutes === 1 ? '1 minute ago' : `${minutes} minutes ago`;
}

const hidden = (fields: Record<string, string>) =>
  Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${escapeHTML(name)}" value="${escapeHTML(value)}">`)
    .join('');

function decisionForm(action: string, fields: Record<string, string>, yes: string, no: string): string {
  return `<form method="post" action="${escapeHTML(action)}" class="actions">${hidden(fields)}
<button type="submit" name="decision" value="allow">${escapeHTML(yes)}</button>
<button type="submit" name="decision" value="deny" class="secondary">${escapeHTML(no)}</button></form>`;
}

const facts = (rows: [string, string][]) =>
  `<dl class="facts">${rows.map(([k, v]) => `<dt>${escapeHTML(k)}</dt><dd>${v}</dd>`).join('')}</dl>`;

const lifetime = (endsAt: number, now: number, renewURL: string) => {
  const hours = (endsAt - now) / 3_600_000;
  const short =
    hours < 1 ? ` <a href="${escapeHTML(renewURL)}">Sign in again in the browser</a> for a longer one.` : '';
  return `<p class="muted">The terminal stays signed in until ${escapeHTML(formatTime(endsAt))} at the latest (your browser sign-in ends then), or until you run <code>kube-bastion logout</code>.${short}</p>`;
};

export interface LoopbackConfirmOptions {
  user: SignedIn;
  /** What the terminal called itself; shown as a claim. */
  client?: string;
  port: number;
  endsAt: number;
  now: number;
  action: string;
  /** The request, carried through the form (checked again on POST). */
  fields: Record<string, string>;
  renewURL: string;
}

export function renderLoopbackConfirm(o: LoopbackConfirmOptions): string {
  const rows: [string, string][] = [
    ['Signs in as', `<strong>${escapeHTML(o.user.username)}</strong>`],
    ['Returns to', `<code>127.0.0.1:${o.port}</code> (a program on this computer)`],
  ];
  if (o.client) rows.push(['Program says it is', escapeHTML(o.client)]);
  return page(
    'Sign in from a terminal',
    `<h1>Sign in the kube-bastion command line?</h1>
<p class="lead">A <code>kube-bastion login</code> on this computer asks for access as you.</p>
${facts(rows)}
<div class="alert" role="note"><h2>Only continue if you just ran <code>kube-bastion login</code> yourself</h2>
<p>If someone sent you this link, press Cancel: continuing would let a program act as you.</p></div>
${lifetime(o.endsAt, o.now, o.renewURL)}
${decisionForm(o.action, o.fields, 'Continue', 'Cancel')}`,
    { user: o.user },
  );
}

export interface DeviceEntryOptions {
  user: SignedIn;
  action: string;
  /** What was typed, to show again with the error. */
  typed?: string;
  error?: string;
}

export function renderDeviceEntry(o: DeviceEntryOptions): string {
  const problem = o.error ? `<p class="alert" role="alert">${escapeHTML(o.error)}</p>` : '';
  return page(
    'Sign in a device',
    `<h1>Sign in a device</h1>
<p>Enter the code that <code>kube-bastion login --device</code> shows on the other device.</p>${problem}
<form method="get" action="${escapeHTML(o.action)}" class="search"><label for="user_code">Code</label>
<div class="row"><input type="text" id="user_code" name="user_code" value="${escapeHTML(o.typed ?? '')}" autocomplete="off" autocapitalize="characters" spellcheck="false" placeholder="BCDF-GHJK" required><button type="submit">Next</button></div></form>`,
    { user: o.user },
  );
}

export interface DeviceConfirmOptions {
  user: SignedIn;
  code: string;
  client: string;
  address: string;
  startedAt: number;
  expiresAt: number;
  endsAt: number;
  now: number;
  action: string;
  fields: Record<string, string>;
  renewURL: string;
}

export function renderDeviceConfirm(o: DeviceConfirmOptions): string {
  const rows: [string, string][] = [
    ['Code', `<strong class="code">${escapeHTML(o.code)}</strong> — check that the device shows the same`],
    ['Device says it is', escapeHTML(o.client)],
    ['Asked from address', `<code>${escapeHTML(o.address)}</code>`],
    ['Started', `${escapeHTML(ago(o.startedAt, o.now))} (${escapeHTML(formatTime(o.startedAt))})`],
    ['Signs in as', `<strong>${escapeHTML(o.user.username)}</strong>`],
  ];
  return page(
    'Confirm a device sign-in',
    `<h1>Sign in this device as you?</h1>
${facts(rows)}
<div class="alert" role="note"><h2>Only confirm a sign-in you started yourself, just now</h2>
<p>If someone gave you this code or asked you to enter it, press Deny: confirming would give them access as you. The device's name is what it says about itself; its address is what the gateway saw.</p></div>
${lifetime(o.endsAt, o.now, o.renewURL)}
<p class="muted">This code expires at ${escapeHTML(formatTime(o.expiresAt))}.</p>
${decisionForm(o.action, o.fields, 'Confirm', 'Deny')}`,
    { user: o.user },
  );
}

export interface TerminalResultOptions {
  user?: SignedIn;
  title: string;
  message: string;
  /** An alert (something went wrong or was refused) rather than a plain result. */
  problem?: boolean;
  link?: { href: string; text: string };
}

export function renderTerminalResult(o: TerminalResultOptions): string {
  const body = o.problem
    ? `<div class="alert" role="alert"><p>${escapeHTML(o.message)}</p></div>`
    : `<p class="lead" role="status">${escapeHTML(o.message)}</p>`;
  const link = o.link ? `<p><a href="${escapeHTML(o.link.href)}">${escapeHTML(o.link.text)}</a></p>` : '';
  return page(o.title, `<h1>${escapeHTML(o.title)}</h1>${body}${link}`, { user: o.user });
}
