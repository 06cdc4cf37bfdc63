/**
 * The plain identity headers an upstream reads (X-Forwarded-User, -Groups,
 * -Email). They are only as trustworthy as the network path: upstreams that
 * can be reached around the gateway should verify the signed assertion.
 */
import type { Identity } from '../request/identity.js';
import type { Config } from '../config/schema.js';

/**
 * Node refuses header values outside tab, printable ASCII and 0x80–0xFF. Names
 * from an IdP may hold any Unicode, so send their UTF-8 bytes (what Go
 * proxies send). Authentication refuses names with control characters or
 * surrounding whitespace (authn/claims/identity-names.ts), so the bytes are
 * the whole name; dropping any control character left is a last defence.
 */
export function headerValue(text: string): string {
  return Buffer.from(text, 'utf8')
    .toString('latin1')
    .replace(/[^\t\x20-\x7e\x80-\xff]/g, '');
}

/**
 * One group as an element of the comma-separated X-Forwarded-Groups list. A
 * group may hold a comma (LDAP DNs do: `cn=ops,ou=groups`), which would read
 * as two groups, so `%` and `,` are percent-encoded and nothing else is:
 * `["devs","x,system:masters"]` travels as `devs,x%2Csystem:masters`.
 * Splitting on `,` and percent-decoding each part gives back exactly the
 * groups; an upstream that does not decode sees a name that matches nothing
 * it did not mean to. Most groups have neither character and pass unchanged.
 */
export const encodeGroup = (group: string): string =>
  group.replace(/[%,]/g, (c) => (c === '%' ? '%25' : '%2C'));

/** The X-Forwarded-Groups value for a list of groups (see encodeGroup). */
export const groupsHeaderValue = (groups: readonly string[]): string =>
  headerValue(groups.map(encodeGroup).join(','));

export function identityHeaders(
  identity: Identity,
  config: Config['upstream']['identityHeaders'],
): Record<string, string> {
  if (!config.enabled) return {};
  const headers: Record<string, string> = { [config.user]: headerValue(identity.username) };
  if (identity.groups.length > 0) headers[config.groups] = groupsHeaderValue(identity.groups);
  if (identity.email) headers[config.email] = headerValue(identity.email);
  return headers;
}
