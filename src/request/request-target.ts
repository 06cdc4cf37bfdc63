/**
 * The request target as the gateway routes it: always origin-form
 * (`/path?query`). Absolute-form (`GET http://host/path HTTP/1.1`) is what a
 * client sends to a forward proxy, which the gateway is not; RFC 9112 §3.2.2
 * makes its authority win over Host, while whatever stands in front of the
 * gateway (an ingress) routed the request by Host. Two parsers that could
 * disagree on where a request goes are not allowed to: an absolute-form target
 * is accepted only when its authority is the Host and names this gateway
 * (publicURL, or a routed host), and is then handled as its origin-form.
 * Anything else is a 400 — not the portal, not a proxied answer.
 */
import { badRequest } from '../errors.js';

/**
 * A Host header as a client sends one (RFC 9110 §7.2: `uri-host [":" port]`): a DNS name (`_` too,
 * as internal names have it), an IPv4 address or a bracketed IPv6 literal, and a port 1–65535.
 * What else a parser lets through — userinfo, a path, a second port, a list — is read differently
 * by whatever takes a host from it next (the host router split at the first `:`; an upstream
 * building links from Host), so it is refused before anything reads it.
 */
const HOST_HEADER = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(?::(\d{1,5}))?$/;

export function isValidHostHeader(host: string): boolean {
  const m = HOST_HEADER.exec(host);
  if (!m) return false;
  return m[1] === undefined || (Number(m[1]) >= 1 && Number(m[1]) <= 65535);
}

/** `host[:port]` lower-cased, without the default port of `scheme` and without a trailing dot. */
export function canonicalAuthority(authority: string, scheme: 'http:' | 'https:'): string | undefined {
  try {
    const url = new URL(`${scheme}//${authority}`);
    if (url.username || url.password || url.pathname !== '/' || url.search || url.hash) return undefined;
    return url.host.replace(/\.(?=:\d+$|$)/, '');
  } catch {
    return undefined;
  }
}

/** The target's path and query exactly as sent (a URL parser would resolve dot segments and escapes). */
function rawPathAndQuery(target: string, schemeLength: number): string {
  const rest = target.slice(schemeLength + 2);
  const at = rest.search(/[/?]/);
  if (at === -1) return '/';
  return rest[at] === '?' ? `/${rest.slice(at)}` : rest.slice(at);
}

/**
 * The origin-form of `target`; throws a 400 for an absolute-form target that
 * names another host than Host, or a host that is not ours (`isOurs` gets the
 * canonical authority).
 */
export function originForm(
  target: string,
  host: string | undefined,
  isOurs: (authority: string) => boolean,
): string {
  if (target.startsWith('/') || target === '*') return target;
  const scheme = /^(https?:)\/\//i.exec(target)?.[1].toLowerCase() as 'http:' | 'https:' | undefined;
  if (!scheme) throw badRequest('invalid request target');
  const rest = target.slice(scheme.length + 2);
  const authority = canonicalAuthority(rest.slice(0, rest.search(/[/?]|$/)), scheme);
  if (authority === undefined) throw badRequest('invalid request target');
  if (host === undefined || canonicalAuthority(host, scheme) !== authority) {
    throw badRequest('the request target names another host than the Host header');
  }
  if (!isOurs(authority)) throw badRequest(`the request target names a host this gateway does not serve`);
  return rawPathAndQuery(target, scheme.length);
}
