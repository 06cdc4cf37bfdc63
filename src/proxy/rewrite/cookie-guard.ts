/**
 * Which Set-Cookie lines of an upstream reach the browser, as a pure decision.
 * An upstream answers on an origin the gateway owns (the path form) or on a
 * host the gateway routes to it; either way it must not be able to:
 *   - write a cookie of the gateway: a planted session signs the visitor in as
 *     someone else (session fixation), a planted sign-in cookie hijacks a
 *     sign-in. Every spelling counts (`gatewayCookieMatcher`);
 *   - reach beyond its own share of the origin: in the path form a `Domain`
 *     cookie would go to every host under it, and a `__Host-` cookie must keep
 *     `Path=/`, so it would go to every app on the gateway. With host routing,
 *     a `Domain` other than the app's own host reaches its siblings;
 *   - slip a line past the browser's parser that the gateway reads otherwise:
 *     a nameless cookie (`=__Host-x=v`) is sent as `__Host-x=v`, bypassing
 *     the prefix rules; control characters make browsers disagree.
 */
import type { OutgoingHttpHeaders } from 'node:http';

export type CookieDropReason = 'gateway-cookie' | 'nameless' | 'malformed' | 'host-prefix' | 'foreign-domain';

export type CookieVerdict = { keep: string } | { drop: CookieDropReason };

export interface CookieGuardContext {
  /** How the client reached the upstream: under a path prefix of the gateway, or on a routed host. */
  form: 'path' | 'host';
  /** The Host the client used (host routing: the app's own host, port optional). */
  host?: string;
  /** True for every name the gateway owns (src/authn/session/cookie-jar.ts `gatewayCookieMatcher`). */
  isGatewayCookie: (name: string) => boolean;
}

// RFC 6265bis §5.7: a set-cookie-string with a control character other than HTAB is ignored entirely.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f]/;

/** The cookie's name as a browser reads it (trimmed), or why the line is no cookie to pass on. */
export function setCookieName(line: string): { name: string } | { drop: 'nameless' | 'malformed' } {
  if (CONTROL.test(line)) return { drop: 'malformed' };
  const pair = line.split(';', 1)[0];
  const eq = pair.indexOf('=');
  // No `=`: browsers store a nameless cookie whose *value* is the text, sent back bare.
  if (eq === -1) return { drop: 'malformed' };
  const name = pair.slice(0, eq).trim();
  return name === '' ? { drop: 'nameless' } : { name };
}

export function guardSetCookie(line: string, ctx: CookieGuardContext): CookieVerdict {
  const parsed = setCookieName(line);
  if ('drop' in parsed) return parsed;
  if (ctx.isGatewayCookie(parsed.name)) return { drop: 'gateway-cookie' };
  const [pair, ...attributes] = line.split(';');
  const domains = attributes.filter((a) => attributeName(a) === 'domain');
  if (ctx.form === 'path') {
    if (/^__host-/i.test(parsed.name)) return { drop: 'host-prefix' };
  } else if (domains.some((a) => !isOwnHost(attributeValue(a), ctx.host ?? ''))) {
    return { drop: 'foreign-domain' };
  }
  // What is left of Domain only ever widened the cookie: without it the cookie is host-only.
  return domains.length === 0
    ? { keep: line }
    : { keep: [pair, ...attributes.filter((a) => attributeName(a) !== 'domain')].join(';') };
}

/**
 * `headers` with only the Set-Cookie lines `guardSetCookie` keeps. `onDrop`
 * hears each dropped line's name (undefined when the line has none worth
 * repeating) and why — never its value.
 */
export function guardSetCookies(
  headers: OutgoingHttpHeaders,
  ctx: CookieGuardContext,
  onDrop: (name: string | undefined, reason: CookieDropReason) => void,
): OutgoingHttpHeaders {
  const lines = headers['set-cookie'];
  if (lines === undefined) return headers;
  const kept: string[] = [];
  for (const line of [lines].flat().map(String)) {
    const verdict = guardSetCookie(line, ctx);
    if ('keep' in verdict) kept.push(verdict.keep);
    else
      onDrop(
        verdict.drop === 'malformed' || verdict.drop === 'nameless' ? undefined : nameOf(line),
        verdict.drop,
      );
  }
  const out = { ...headers };
  if (kept.length > 0) out['set-cookie'] = kept;
  else delete out['set-cookie'];
  return out;
}

function nameOf(line: string): string {
  const name = setCookieName(line);
  return 'name' in name ? name.name.slice(0, 64) : '';
}

function attributeName(attribute: string): string {
  const eq = attribute.indexOf('=');
  return (eq === -1 ? attribute : attribute.slice(0, eq)).trim().toLowerCase();
}

function attributeValue(attribute: string): string {
  const eq = attribute.indexOf('=');
  return eq === -1 ? '' : attribute.slice(eq + 1).trim();
}

/** `Domain=` names exactly the app's host (a leading or trailing dot and case aside). An empty one is ignored by browsers. */
function isOwnHost(domain: string, hostHeader: string): boolean {
  const d = domain.toLowerCase().replace(/^\./, '').replace(/\.$/, '');
  if (d === '') return true;
  return d === hostName(hostHeader);
}

/** The host of a Host header, without port or trailing dot. */
export function hostName(hostHeader: string): string {
  const h = hostHeader.trim().toLowerCase();
  const name = h.startsWith('[') ? h.slice(0, h.indexOf(']') + 1) : h.replace(/:\d*$/, '');
  return name.replace(/\.$/, '');
}
