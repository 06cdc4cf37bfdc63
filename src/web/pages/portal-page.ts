/**
 * The portal: the services a signed-in person may open, grouped by namespace,
 * with a search box that works without JavaScript (`GET /?q=`).
 */
import type { PortalListing } from '../portal/listing.js';
import { escapeHTML, page, type SignedIn } from './layout.js';

function portLabel(p: { name: string; port: number }): string {
  return p.name ? `${p.name} (${p.port})` : String(p.port);
}

function serviceItem(s: PortalListing['namespaces'][number]['services'][number], namespace: string): string {
  const links = s.ports.map(
    (p) =>
      `<a href="${escapeHTML(p.path)}" aria-label="Open ${escapeHTML(s.name)} in ${escapeHTML(namespace)}, port ${escapeHTML(portLabel(p))}">${escapeHTML(portLabel(p))}</a>`,
  );
  const host = s.hostURL
    ? `<p class="host">By host: <a href="${escapeHTML(s.hostURL)}">${escapeHTML(new URL(s.hostURL).host)}</a></p>`
    : '';
  const ports = links.length
    ? `<p class="ports"><span class="muted">Ports:</span> ${links.join(' ')}</p>`
    : '';
  // No script on these pages: the whole line is selected by one click, ready to copy.
  const connect = s.ports
    .filter((p) => p.connect)
    .map((p) => `<code class="connect">${escapeHTML(p.connect!)}</code>`)
    .join('');
  const terminal = connect
    ? `<p class="connect"><span class="muted">From a terminal:</span> ${connect}</p>`
    : '';
  return `<li><h3>${escapeHTML(s.name)}</h3>${ports}${host}${terminal}</li>`;
}

/** The "Sign in from a terminal" box: the one command to run (docs/terminal.md). */
function terminalBox(command: string): string {
  return `<section aria-labelledby="terminal" class="terminal-box"><h2 id="terminal">Sign in from a terminal</h2>
<p>Install <code>kube-bastion</code>, then run:</p><pre class="terminal"><code>${escapeHTML(command)}</code></pre>
<p class="muted">Then <code>curl -H "Authorization: Bearer $(kube-bastion token)" …</code> reaches the same services. On a machine without a browser, add <code>--device</code>.</p></section>`;
}

export function renderPortalPage(listing: PortalListing, user: SignedIn, terminalLogin?: string): string {
  const q = listing.query;
  const total = listing.namespaces.reduce((n, ns) => n + ns.services.length, 0);
  const search = `<form role="search" method="get" action="/" class="search">
<label for="q">Search services</label>
<div class="row"><input type="search" id="q" name="q" value="${escapeHTML(q)}" placeholder="name or namespace" autocomplete="off"><button type="submit">Search</button></div>
</form>`;
  const count = q
    ? `<p class="muted" role="status">${total} ${total === 1 ? 'service matches' : 'services match'} “${escapeHTML(q)}”. <a href="/">Show all</a></p>`
    : `<p class="muted" role="status">${total} ${total === 1 ? 'service' : 'services'} in ${listing.namespaces.length} ${listing.namespaces.length === 1 ? 'namespace' : 'namespaces'}.</p>`;
  const partial = listing.incomplete
    ? '<p class="alert" role="alert">Some access checks could not be completed just now, so this list may be missing services. Reload in a moment.</p>'
    : listing.truncated
      ? `<p class="alert" role="status">Not all services could be checked for one page: ${listing.truncated.unchecked} were left out. Search by name or namespace to find them.</p>`
      : '';
  const empty =
    total === 0
      ? q
        ? '<p>Nothing you can open matches that search.</p>'
        : '<p>You cannot open any service yet. Access is granted per namespace: ask your cluster admin to give you access to the namespaces you work in.</p>'
      : '';
  const sections = listing.namespaces
    .map(
      (ns) => `<section aria-labelledby="ns-${escapeHTML(ns.namespace)}">
<h2 id="ns-${escapeHTML(ns.namespace)}"><span class="muted">Namespace</span> ${escapeHTML(ns.namespace)}</h2>
<ul class="services">${ns.services.map((s) => serviceItem(s, ns.namespace)).join('')}</ul></section>`,
    )
    .join('\n');
  const groups = user.groups?.length
    ? `<p class="muted">Groups: ${user.groups.map((g) => escapeHTML(g)).join(', ')}</p>`
    : '';
  return page(
    'Your services',
    `<h1>Your services</h1>${groups}${search}${count}${partial}${empty}${sections}${terminalLogin ? terminalBox(terminalLogin) : ''}`,
    { user },
  );
}
