/**
 * Header names only the gateway may set on the way upstream: the identity
 * claims that gateways, auth proxies and cloud front doors put on requests,
 * which some upstream trusts somewhere. A client copy of any of them is
 * dropped, whatever its case and whether it is spelled with `_` or `-`
 * (CVE-2025-64484: frameworks that fold `_` into `-` read `X_Forwarded_Email`
 * as `X-Forwarded-Email`). Default names stay reserved even when custom names
 * are configured (k8s NCC-E003660-YVU): an upstream may still trust them.
 * Admins add their own (`upstream.identityHeaders.strip`).
 */
import type { Config } from '../config/schema.js';
import { normalizeHeaderName } from '../proxy/headers.js';

type UpstreamConfig = Config['upstream'];

const DEFAULT_NAMES = [
  // Ours, and oauth2-proxy's / Traefik forward-auth's / Jenkins' (the X-Forwarded-* family).
  'x-forwarded-user',
  'x-forwarded-groups',
  'x-forwarded-email',
  'x-forwarded-preferred-username',
  'x-forwarded-uid',
  'x-forwarded-access-token',
  'x-bastion-assertion',
  // oauth2-proxy's old name; Teleport's assertion; Kubeflow's user and groups.
  'gap-auth',
  'teleport-jwt-assertion',
  'kubeflow-userid',
  'kubeflow-groups',
  // Kong (consumer identity, OIDC plugin).
  'x-credential-identifier',
  'x-userinfo',
  'x-id-token',
];

/** Whole families, by the product that sets them. */
const RESERVED_PREFIXES = [
  'x-bastion-',
  // Kubernetes front proxy and impersonation.
  'x-remote-',
  'impersonate-',
  // Authelia, Authentik, Caddy forward_auth (Remote-User, Remote-Groups, Remote-Email, Remote-Name).
  'remote-',
  // oauth2-proxy / nginx auth_request.
  'x-auth-request-',
  // Grafana, Gitea and Forgejo auth proxy (X-WEBAUTH-USER, X-WEBAUTH-EMAIL).
  'x-webauth-',
  // Kong, Tyk, Apigee and others (X-Authenticated-User, X-Authenticated-Userid, X-Authenticated-Scope).
  'x-authenticated-',
  'x-consumer-',
  'x-authentik-',
  'x-vouch-',
  'x-pomerium-',
  // Google IAP, Cloudflare Access, AWS ALB, Azure App Service authentication.
  'x-goog-authenticated-',
  'x-goog-iap-',
  'cf-access-',
  'x-amzn-oidc-',
  'x-ms-client-principal',
  'x-ms-token-',
];

export type ReservedHeaderMatcher = (name: string) => boolean;

/**
 * The admin's extra names (`upstream.identityHeaders.strip`): a name, or a
 * prefix written with a trailing `*` (`X-MyCorp-*`).
 */
function splitExtra(extra: readonly string[]): { names: string[]; prefixes: string[] } {
  const names: string[] = [];
  const prefixes: string[] = [];
  for (const entry of extra) {
    const n = normalizeHeaderName(entry);
    if (n.endsWith('*')) prefixes.push(n.slice(0, -1));
    else names.push(n);
  }
  return { names, prefixes };
}

export function reservedHeaderMatcher(
  upstream?: Pick<UpstreamConfig, 'identityHeaders' | 'assertion'>,
): ReservedHeaderMatcher {
  const names = new Set(DEFAULT_NAMES);
  const prefixes = [...RESERVED_PREFIXES];
  if (upstream) {
    const { user, groups, email, strip } = upstream.identityHeaders;
    for (const n of [user, groups, email, upstream.assertion.header]) names.add(normalizeHeaderName(n));
    const extra = splitExtra(strip);
    for (const n of extra.names) names.add(n);
    prefixes.push(...extra.prefixes);
  }
  return (name) => {
    const n = normalizeHeaderName(name);
    return names.has(n) || prefixes.some((p) => n.startsWith(p));
  };
}

const defaults = reservedHeaderMatcher();

/** With the default names only; prefer `reservedHeaderMatcher(config.upstream)` so custom names count too. */
export const isReservedHeader = (name: string): boolean => defaults(name);
