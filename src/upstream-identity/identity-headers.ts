/**
 * The plain identity headers an upstream reads (X-Forwarded-User, -Groups,
 * -Email). They are only as trustworthy as the network path: upstreams that
 * can be reached around the gateway should verify the signed assertion.
 */
import type { Identity } from '../authn/identity.js';
import type { Config } from '../config/schema.js';

/**
 * Node refuses header values outside tab, printable ASCII and 0x80–0xFF. Names
 * from an IdP may hold any Unicode, so send their UTF-8 bytes (what Go
 * proxies send) and drop control characters rather than fail the request.
 */
export function headerValue(text: string): string {
  return Buffer.from(text, 'utf8')
    .toString('latin1')
    .replace(/[^\t\x20-\x7e\x80-\xff]/g, '');
}

export function identityHeaders(
  identity: Identity,
  config: Config['upstream']['identityHeaders'],
): Record<string, string> {
  if (!config.enabled) return {};
  const headers: Record<string, string> = { [config.user]: headerValue(identity.username) };
  // Comma-joined like oauth2-proxy; group names with commas are rare and would be ambiguous anyway.
  if (identity.groups.length > 0) headers[config.groups] = headerValue(identity.groups.join(','));
  if (identity.email) headers[config.email] = headerValue(identity.email);
  return headers;
}
