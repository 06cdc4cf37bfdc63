/**
 * Host routing set up so that it cannot work, found before the gateway starts
 * and reported with the key to change. (Checks inside `routing` alone — a
 * bare host name, no route listed twice — live in schema/routing.ts.)
 */
import { hostsOutsideCookieDomain } from './cookie-domain.js';
import type { ConfigIssue } from './issue.js';

export type RoutingIssue = ConfigIssue;

export interface RoutingChecked {
  publicURL: string;
  routing: { hostSuffix?: string; routes: readonly { host: string }[] };
  cookieDomain?: string;
}

const bare = (host: string) => host.toLowerCase().replace(/\.$/, '');

/** Whether `host` has the `{label}--{namespace}.{suffix}` form host routing proxies. */
function readsAsRouted(host: string, suffix: string): boolean {
  const s = `.${bare(suffix)}`;
  if (!host.endsWith(s)) return false;
  return host.slice(0, -s.length).lastIndexOf('--') > 0;
}

export function routingProblems(c: RoutingChecked): RoutingIssue[] {
  let publicHost: string;
  try {
    publicHost = bare(new URL(c.publicURL).hostname);
  } catch {
    return []; // publicURL's own check reports it
  }
  const issues: RoutingIssue[] = [];
  c.routing.routes.forEach((r, i) => {
    if (bare(r.host) === publicHost)
      issues.push({
        path: ['routing', 'routes', i, 'host'],
        message: `"${r.host}" is publicURL's host: the gateway's own pages (sign-in, portal) live there, so it cannot also be a routed app`,
      });
  });
  if (c.routing.hostSuffix && readsAsRouted(publicHost, c.routing.hostSuffix))
    issues.push({
      path: ['publicURL'],
      message: `"${publicHost}" reads as a routed host under routing.hostSuffix ("{service}--{namespace}"), so the gateway's own pages would be proxied; use a host name without "--"`,
    });
  if (c.cookieDomain !== undefined)
    for (const message of hostsOutsideCookieDomain(c.cookieDomain, { publicURL: c.publicURL, ...c.routing }))
      issues.push({ path: ['authentication', 'session', 'cookieDomain'], message });
  return issues;
}
