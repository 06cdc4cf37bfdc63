/**
 * The apiserver proxy URL grammar, as a pure function of the request URL.
 *
 *   /api/v1/namespaces/{ns}/services/{[scheme:]name[:port]}/proxy/{path}
 *   /api/v1/namespaces/{ns}/pods/{[scheme:]name[:port]}/proxy/{path}
 *   /api/v1/nodes/{[scheme:]name[:port]}/proxy/{path}
 *
 * and the TCP tunnels (a WebSocket upgrade; nothing may follow `portforward`):
 *
 *   /api/v1/namespaces/{ns}/services/{name[:port]}/portforward
 *   /api/v1/namespaces/{ns}/pods/{name[:port]}/portforward
 *
 * Mirrors kube-apiserver: the path is percent-decoded *before* it is split
 * (so `%2F` separates segments, `https%3Aweb%3A` is `https:web:`), the part
 * after `proxy` is cleaned with Go's `path.Join` semantics and a trailing
 * slash is kept (JoinPreservingTrailingSlash), and the upstream path is
 * re-escaped the way Go's `url.URL.EscapedPath` does. See
 * shared/reference/apiserver-proxy.md §1.
 */
import { GatewayError, badRequest } from '../errors.js';
import { checkNames, invalidRequest } from './names.js';
import type { TargetKind } from './target.js';

export type Scheme = '' | 'http' | 'https';

/** `proxy`: HTTP to the target; `portforward`: a TCP tunnel (services and pods only). */
export type Subresource = 'proxy' | 'portforward';

export interface ProxyPath {
  kind: TargetKind;
  subresource: Subresource;
  /** '' for nodes. */
  namespace: string;
  /** The decoded name segment, e.g. `https:web:8443`: what RBAC resourceNames match. */
  segment: string;
  scheme: Scheme;
  name: string;
  /** Port name or number as written; '' when absent. */
  port: string;
  /**
   * The upstream path, cleaned and escaped, or '' when the request ended at
   * `…/proxy` with no slash (GET/HEAD then get a 301 to `…/proxy/`); always '' for a tunnel.
   */
  path: string;
  /** The canonical (escaped) path up to and including `/proxy` (or `/portforward`): X-Forwarded-Prefix and link rewriting use it. */
  prefix: string;
  /** The raw query string without `?`, byte-identical; '' when absent. */
  rawQuery: string;
}

const NOT_FOUND = () => new GatewayError(404, 'NotFound', 'the server could not find the requested resource');

/** Splits a name segment the way apimachinery's SplitSchemeNamePort does. */
export function splitSchemeNamePort(
  segment: string,
): { scheme: Scheme; name: string; port: string } | undefined {
  const first = segment.indexOf(':');
  // The usual segment, `web`, costs no split.
  if (first === -1) return segment === '' ? undefined : { scheme: '', name: segment, port: '' };
  const parts = segment.split(':');
  if (parts.length > 3) return undefined;
  const [scheme, name, port] = (parts.length === 2 ? ['', ...parts] : parts) as [string, string, string];
  if (name === '' || (scheme !== '' && scheme !== 'http' && scheme !== 'https')) return undefined;
  return { scheme: scheme, name, port };
}

/** Pure ASCII: its UTF-8 bytes, read as Latin-1, are the same string (the usual URL needs no conversion). */
// eslint-disable-next-line no-control-regex
const ASCII = /^[\x00-\x7f]*$/;

/**
 * Percent-decodes into a "binary string" (one char per byte), the way Go's
 * url.PathUnescape yields bytes. Returns undefined for a malformed escape.
 */
export function percentDecodeBytes(text: string): string | undefined {
  if (!text.includes('%')) return ASCII.test(text) ? text : Buffer.from(text, 'utf8').toString('latin1');
  const bytes: number[] = [];
  const raw = Buffer.from(text, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c !== 0x25) {
      bytes.push(c);
      continue;
    }
    const hex = raw.subarray(i + 1, i + 3).toString('latin1');
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
    bytes.push(parseInt(hex, 16));
    i += 2;
  }
  return Buffer.from(bytes).toString('latin1');
}

const utf8 = (binary: string) =>
  ASCII.test(binary) ? binary : Buffer.from(binary, 'latin1').toString('utf8');

/** Go's shouldEscape(c, encodePath): unreserved and `$&+,/:;=@` stay, everything else is %XX. */
const PATH_SAFE = new Uint8Array(256);
for (const c of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~$&+,/:;=@') {
  PATH_SAFE[c.charCodeAt(0)] = 1;
}

/** Escapes a binary path string like Go's url.URL.EscapedPath with an empty RawPath. */
export function escapePath(binary: string): string {
  let i = 0;
  while (i < binary.length && PATH_SAFE[binary.charCodeAt(i)]) i++;
  if (i === binary.length) return binary; // the common case, without building a copy
  let out = binary.slice(0, i);
  for (; i < binary.length; i++) {
    const b = binary.charCodeAt(i);
    out += PATH_SAFE[b] ? binary[i] : '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/** Go's path.Clean for a rooted path: resolves `.`, `..` (never above `/`) and `//`. */
export function cleanPath(p: string): string {
  // Nothing to resolve (no empty, `.` or `..` segment): only a trailing slash goes.
  if (p.startsWith('/') && !p.includes('//') && !p.includes('/.'))
    return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return '/' + out.join('/');
}

/** The path without its leading and trailing slashes. */
function trimSlashes(p: string): string {
  let start = 0;
  let end = p.length;
  while (start < end && p.charCodeAt(start) === 0x2f) start++;
  while (end > start && p.charCodeAt(end - 1) === 0x2f) end--;
  return start === 0 && end === p.length ? p : p.slice(start, end);
}

/**
 * The upstream path for the parts after `proxy`: '' for a bare `…/proxy`,
 * otherwise cleaned with the trailing slash kept (JoinPreservingTrailingSlash).
 */
function upstreamPath(rest: string[], endsWithSlash: boolean): string {
  let sub = rest.length > 0 ? '/' + rest.join('/') : '';
  if (endsWithSlash && !sub.endsWith('/')) sub += '/';
  if (sub === '') return '';
  let cleaned = cleanPath(sub);
  if (sub.endsWith('/') && !cleaned.endsWith('/')) cleaned += '/';
  return escapePath(cleaned);
}

/**
 * Parses a request target (`req.url`). Returns undefined when the URL is not
 * a proxy URL at all (the caller serves its own pages), throws GatewayError
 * for proxy URLs the apiserver would reject.
 */
export function parseProxyPath(url: string): ProxyPath | undefined {
  if (!url.startsWith('/api/')) return undefined;
  const q = url.indexOf('?');
  const rawPath = q === -1 ? url : url.slice(0, q);
  const rawQuery = q === -1 ? '' : url.slice(q + 1);
  // A fragment never reaches a server, but a client may send a literal '#'.
  if (rawPath.includes('#')) throw badRequest('invalid URL: fragment in request path');

  const decoded = percentDecodeBytes(rawPath);
  if (decoded === undefined) throw badRequest(`invalid URL escape in "${rawPath}"`);
  // Pure ASCII (the usual URL): every part is its own UTF-8 reading.
  const text = ASCII.test(decoded) ? (b: string) => b : utf8;
  const parts = trimSlashes(decoded).split('/');
  if (parts[0] !== 'api' || parts[1] !== 'v1') throw NOT_FOUND();

  let kind: TargetKind;
  let namespace = '';
  let at: number;
  if (parts[2] === 'namespaces' && (parts[4] === 'services' || parts[4] === 'pods')) {
    kind = parts[4];
    namespace = text(parts[3]);
    at = 5;
  } else if (parts[2] === 'nodes') {
    kind = 'nodes';
    at = 3;
  } else {
    throw NOT_FOUND();
  }
  const subresource = subresourceAt(parts, at, kind);
  if (kind !== 'nodes' && namespace === '') throw badRequest('missing required namespace');

  const segment = text(parts[at]);
  const split = splitSchemeNamePort(segment);
  // A tunnel carries bytes, not HTTP: a scheme in its segment means nothing, so it is refused.
  if (!split || (subresource === 'portforward' && split.scheme !== '')) throw invalidRequest(kind, segment);
  let prefix = '';
  for (let i = 0; i < at + 2; i++) prefix += '/' + escapePath(parts[i]);
  const parsed: ProxyPath = {
    kind,
    subresource,
    namespace,
    segment,
    scheme: split.scheme,
    name: split.name,
    port: split.port,
    path:
      subresource === 'portforward'
        ? ''
        : upstreamPath(parts.slice(at + 2), decoded.length > 1 && decoded.endsWith('/')),
    prefix,
    rawQuery,
  };
  // Before anything else sees the request: a name no object can have is never a label, key or lookup.
  checkNames(parsed);
  return parsed;
}

/**
 * The subresource after the name segment: `proxy` (anything may follow), or
 * `portforward` for Services and Pods with nothing after it. Anything else is
 * not a route (404), as the apiserver answers for a subresource it lacks.
 */
function subresourceAt(parts: readonly string[], at: number, kind: TargetKind): Subresource {
  const word = parts[at + 1];
  if (word === 'proxy') return 'proxy';
  if (word === 'portforward' && kind !== 'nodes' && parts.length === at + 2) return 'portforward';
  throw NOT_FOUND();
}

/** Methods the apiserver routes for the proxy subresource; others get 405 after authorization. */
export const PROXY_METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);

/** True when the query carries `dryRun`, which the apiserver rejects for connect requests. */
export function hasDryRun(rawQuery: string): boolean {
  if (!rawQuery.includes('dryRun')) return false;
  return new URLSearchParams(rawQuery).has('dryRun');
}
