/**
 * Header names only the gateway may set on the way upstream. A client copy of
 * any of them is dropped, whatever its case and whether it is spelled with `_`
 * or `-` (CVE-2025-64484: frameworks that fold `_` into `-` read
 * `X_Forwarded_Email` as `X-Forwarded-Email`). Default names stay reserved
 * even when custom names are configured (k8s NCC-E003660-YVU): an upstream
 * may still trust them.
 */
import type { Config } from '../config/schema.js';

type UpstreamConfig = Config['upstream'];

/** Lower-case, `_` → `-`: the one spelling names are compared in. */
export const normalizeHeaderName = (name: string): string => name.toLowerCase().replaceAll('_', '-');

const DEFAULT_NAMES = [
  'x-forwarded-user',
  'x-forwarded-groups',
  'x-forwarded-email',
  'x-forwarded-preferred-username',
  'x-forwarded-uid',
  'x-forwarded-access-token',
  'x-bastion-assertion',
  'x-remote-user',
  'x-remote-group',
  'x-remote-uid',
];

/** Whole families: Kubernetes front-proxy extras and impersonation, oauth2-proxy's auth_request set, ours. */
const RESERVED_PREFIXES = ['x-remote-extra-', 'impersonate-', 'x-auth-request-', 'x-bastion-'];

export type ReservedHeaderMatcher = (name: string) => boolean;

export function reservedHeaderMatcher(
  upstream?: Pick<UpstreamConfig, 'identityHeaders' | 'assertion'>,
): ReservedHeaderMatcher {
  const names = new Set(DEFAULT_NAMES);
  if (upstream) {
    const { user, groups, email } = upstream.identityHeaders;
    for (const n of [user, groups, email, upstream.assertion.header]) names.add(normalizeHeaderName(n));
  }
  return (name) => {
    const n = normalizeHeaderName(name);
    return names.has(n) || RESERVED_PREFIXES.some((p) => n.startsWith(p));
  };
}

const defaults = reservedHeaderMatcher();

/** With the default names only; prefer `reservedHeaderMatcher(config.upstream)` so custom names count too. */
export const isReservedHeader = (name: string): boolean => defaults(name);
