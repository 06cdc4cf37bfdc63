/**
 * What crosses the gateway in headers, as pure functions: the request headers
 * an upstream sees and the response headers a client sees.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** Hop-by-hop headers (RFC 9110 §7.6.1) plus the ones Go's ReverseProxy also drops. */
const HOP_BY_HOP = new Set([
  'connection',
  'proxy-connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Framing is the forwarder's alone (framing.ts): a client's copy never goes upstream as it came. */
const FRAMING = new Set(['content-length', 'transfer-encoding']);

/**
 * Names no `Connection` token can remove: the framing (a response to HEAD keeps its declared length;
 * a request body its delimiter), the Host a request is routed by, and what says how to read the body
 * (Content-Type, Content-Encoding: the response rewriter decides from them). RFC 9110 §7.6.1 lets a
 * sender list any name, but never one meant for every recipient; these are not its to drop.
 */
const NOT_CONNECTION_OPTIONS = new Set([
  'content-length',
  'transfer-encoding',
  'host',
  'content-type',
  'content-encoding',
]);

/**
 * Headers a client may send that must never reach an upstream, whatever their case or `_`/`-` spelling.
 * `Forwarded` (RFC 7239) goes too: the gateway vouches for the client address in X-Forwarded-For, and
 * a client-written `Forwarded: for=…` would let it spoof that address to backends that prefer it.
 * The single-address headers that proxies and CDNs set (`X-Real-IP`, `True-Client-IP`,
 * `X-Client-IP`, `Client-IP`, `CF-Connecting-IP`, `Fastly-Client-IP`, `X-Cluster-Client-IP`,
 * `X-Original-Forwarded-For` of ingress-nginx) go for the same reason. `Expect` was answered by the
 * gateway itself (100 Continue once the request was admitted); the upstream gets the body at once. The method-override headers
 * go because the verb was authorized from the request's method: an app that honours
 * `X-HTTP-Method-Override: DELETE` on a POST would delete for a caller only allowed to create.
 */
const ALWAYS_STRIPPED = new Set([
  'authorization',
  'forwarded',
  'x-real-ip',
  'true-client-ip',
  'x-client-ip',
  'client-ip',
  'cf-connecting-ip',
  'fastly-client-ip',
  'x-cluster-client-ip',
  'x-original-forwarded-for',
  'expect',
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
]);

const NO_TOKENS: ReadonlySet<string> = new Set();

/** The header names a `Connection` header lists: they are hop-by-hop too (RFC 9110 §7.6.1). */
function connectionHeaderTokens(value: string | string[] | undefined): ReadonlySet<string> {
  // Most requests on a kept-alive connection carry none, or only `keep-alive`.
  if (value === undefined || value === 'keep-alive') return NO_TOKENS;
  const tokens = new Set<string>();
  for (const t of String(value ?? '')
    .toLowerCase()
    .split(',')) {
    const name = t.trim();
    if (name && !NOT_CONNECTION_OPTIONS.has(name)) tokens.add(name);
  }
  return tokens;
}

/**
 * Lower-cases and maps `_` to `-`, the way many upstream frameworks normalize names
 * (CVE-2025-64484): the one spelling header names are compared in, here and in upstream-identity/.
 */
export const normalizeHeaderName = (name: string): string => name.toLowerCase().replaceAll('_', '-');

export interface UpstreamHeaderOptions {
  /** The X-Forwarded-For chain the gateway vouches for (request/forwarded-for.ts). */
  forwardedFor: string;
  /** X-Forwarded-Proto we vouch for. */
  proto: string;
  /**
   * The Host the upstream sees, and X-Forwarded-Host: publicURL's host in the path form (never the
   * client's Host), the routed host under host routing.
   */
  host: string;
  /** The proxy prefix for the path form; '' for host routing. */
  prefix: string;
  /** The full proxy path for X-Forwarded-Uri (prefix + upstream path, no query). */
  forwardedUri: string;
  /** True for identity and assertion header names (any spelling): client copies are dropped. */
  isReservedHeader: (normalizedName: string) => boolean;
  /** True for the gateway's own session cookie names (every chunk). */
  isSessionCookie: (name: string) => boolean;
  /** Keep Connection/Upgrade (WebSocket handshake). */
  upgrade: boolean;
}

/** True for a client header that is dropped on the way upstream. */
function dropped(name: string, connectionTokens: ReadonlySet<string>, o: UpstreamHeaderOptions): boolean {
  const norm = normalizeHeaderName(name);
  if (HOP_BY_HOP.has(norm) || FRAMING.has(norm) || norm === 'host' || connectionTokens.has(name)) return true;
  return ALWAYS_STRIPPED.has(norm) || norm.startsWith('x-forwarded-') || o.isReservedHeader(norm);
}

/**
 * The headers to send upstream, as the flat [name, value, …] list the upstream client writes
 * as is: the client's, minus hop-by-hop, framing and every credential or identity claim of the
 * client's own making, plus the Host and X-Forwarded-* set the gateway vouches for. The body's
 * framing is added by the forwarder (framing.ts).
 */
export function upstreamRequestHeaderList(incoming: IncomingHttpHeaders, o: UpstreamHeaderOptions): string[] {
  const out: string[] = [];
  if (o.host) out.push('host', o.host);
  const connectionTokens = connectionHeaderTokens(incoming.connection);
  for (const name in incoming) {
    const value = incoming[name];
    if (value === undefined || dropped(name, connectionTokens, o)) continue;
    if (name === 'cookie') {
      const kept = withoutSessionCookies(String(value), o.isSessionCookie);
      if (kept) out.push('cookie', kept);
    } else if (Array.isArray(value)) for (const v of value) out.push(name, v);
    else out.push(name, value);
  }
  if (incoming.te && /\btrailers\b/i.test(String(incoming.te))) out.push('te', 'trailers');
  if (o.upgrade) {
    out.push('connection', 'Upgrade');
    if (incoming.upgrade) out.push('upgrade', incoming.upgrade);
  }
  out.push('x-forwarded-for', o.forwardedFor, 'x-forwarded-proto', o.proto);
  if (o.host) out.push('x-forwarded-host', o.host);
  if (o.prefix) out.push('x-forwarded-prefix', o.prefix);
  out.push('x-forwarded-uri', o.forwardedUri);
  return out;
}

/** The same headers as an object (the WebSocket upgrade's proxy library takes one). */
export function upstreamRequestHeaders(
  incoming: IncomingHttpHeaders,
  o: UpstreamHeaderOptions,
): IncomingHttpHeaders {
  const list = upstreamRequestHeaderList(incoming, o);
  const out: IncomingHttpHeaders = {};
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i];
    const had = out[name];
    if (had === undefined) out[name] = list[i + 1];
    else out[name] = [...(Array.isArray(had) ? had : [had]), list[i + 1]];
  }
  return out;
}

/** Removes the gateway's session cookies from a Cookie header, keeping the rest byte for byte. */
export function withoutSessionCookies(header: string, isSessionCookie: (name: string) => boolean): string {
  return header
    .split(';')
    .filter((pair) => {
      const eq = pair.indexOf('=');
      const name = (eq === -1 ? pair : pair.slice(0, eq)).trim();
      return name !== '' && !isSessionCookie(name);
    })
    .map((p) => p.trim())
    .join('; ');
}

/** CORS response headers the apiserver proxy deletes from every proxied response. */
const CORS_REMOVED = [
  'access-control-allow-credentials',
  'access-control-allow-headers',
  'access-control-allow-methods',
  'access-control-allow-origin',
];

/**
 * Response headers for the client: upstream headers minus hop-by-hop, and
 * (as the apiserver does for the path form) minus the CORS allow-headers, so
 * a backend cannot open the gateway's origin to other sites.
 */
export function downstreamResponseHeaders(
  upstream: IncomingHttpHeaders,
  pathForm: boolean,
): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  const connectionTokens = connectionHeaderTokens(upstream.connection);
  for (const name in upstream) {
    const value = upstream[name];
    if (value === undefined || HOP_BY_HOP.has(name) || connectionTokens.has(name)) continue;
    if (pathForm && CORS_REMOVED.includes(name)) continue;
    out[name] = value;
  }
  return out;
}
