/**
 * Which URLs get the proxy prefix, as a pure function: the apiserver's
 * `rewriteURL` (shared/reference/apiserver-proxy.md §5.2) with three fixes:
 *   - "already prefixed" is checked on a segment boundary (`/proxy-x` is not `/proxy`);
 *   - a link to the request's own Host becomes path-only too, so an upstream
 *     that says `http://` behind a TLS-terminating gateway does not downgrade the client;
 *   - `http://upstream:8080` (empty path) is the root, not left alone.
 *
 * The answer is an edit (replace `value.slice(start, end)` by `replacement`)
 * rather than a new string, so the HTML rewriter can apply the same edit to
 * the raw, still entity-encoded attribute text and leave every other byte alone.
 */

export interface RewriteContext {
  /** Escaped path up to and including `/proxy`, e.g. `/api/v1/namespaces/ns/services/web:http/proxy`. */
  prefix: string;
  /** `host:port` the gateway dialled (`10.0.0.7:8080`, `[fd00::7]:8080`). */
  upstreamHost: string;
  /** The Host header the client used (`bastion.example.com`). */
  requestHost: string;
  /** The Host the upstream was sent, when it is not the client's (the path form sends publicURL's). */
  sentHost?: string;
  /** The Service reached: links to its cluster DNS names (`web`, `web.ns`, `web.ns.svc[.<domain>]`) at its port are the upstream too. */
  service?: { name: string; namespace: string; port: number };
  /**
   * `https://bastion.example.com`: the origin the client used, when it is known
   * and well-formed. An absolute Location to the upstream becomes absolute on it.
   */
  clientOrigin?: string;
}

export interface URLEdit {
  start: number;
  end: number;
  replacement: string;
}

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):/;
const DEFAULT_PORT: Record<string, string> = { http: '80', https: '443' };

/** The prefix without a trailing slash; '' when there is nothing to add (host-based routing). */
export function normalizePrefix(prefix: string): string {
  return prefix.replace(/\/+$/, '');
}

/**
 * Where `path` (escaped or not) already sits under `prefix`: equal to it or
 * followed by `/`. Compared decoded, because the gateway routes
 * `web%3Ahttp` and `web:http` alike.
 */
export function isUnderPrefix(path: string, prefix: string): boolean {
  const p = safeDecode(path);
  const pre = safeDecode(prefix);
  return p === pre || p.startsWith(`${pre}/`);
}

/** Puts `path` (which starts with `/`) under the prefix, unless it is there already. */
export function prefixPath(path: string, prefix: string): string {
  return isUnderPrefix(path, prefix) ? path : prefix + path;
}

/** The edit that makes `value` carry the prefix, or undefined when it must stay as it is. */
export function planURLRewrite(value: string, ctx: RewriteContext): URLEdit | undefined {
  const prefix = normalizePrefix(ctx.prefix);
  const start = leadingSpace(value);
  const url = value.slice(start);
  const scheme = SCHEME.exec(url)?.[1]?.toLowerCase();
  let originEnd = 0;
  let host: string | undefined;
  if (scheme !== undefined) {
    if (scheme !== 'http' && scheme !== 'https') return undefined; // mailto:, data:, javascript:, ...
    if (!url.startsWith('//', scheme.length + 1)) return undefined;
    originEnd = authorityEnd(url, scheme.length + 3);
    host = url.slice(scheme.length + 3, originEnd);
  } else if (url.startsWith('//')) {
    originEnd = authorityEnd(url, 2);
    host = url.slice(2, originEnd);
  }
  if (host !== undefined && !isSameOrigin(host, scheme, ctx)) return undefined;

  const rest = url.slice(originEnd);
  const pathEnd = rest.search(/[?#]/);
  const path = pathEnd === -1 ? rest : rest.slice(0, pathEnd);
  if (host === undefined && !path.startsWith('/')) return undefined; // relative, #frag, ?q
  const end = start + originEnd;
  const replacement = path === '' ? `${prefix}/` : isUnderPrefix(path, prefix) ? '' : prefix;
  if (replacement === '' && start === end) return undefined;
  return { start, end, replacement };
}

/** Applies `planURLRewrite`: the apiserver's rewriteURL, returning `value` itself when untouched. */
export function rewriteURL(value: string, ctx: RewriteContext): string {
  const edit = planURLRewrite(value, ctx);
  return edit === undefined ? value : applyEdit(value, edit);
}

export function applyEdit(value: string, { start, end, replacement }: URLEdit): string {
  return value.slice(0, start) + replacement + value.slice(end);
}

/** Applies ascending, non-overlapping edits in one pass (`map` transforms each replacement). */
export function applyEdits(value: string, edits: readonly URLEdit[], map = (r: string) => r): string {
  const parts: string[] = [];
  let at = 0;
  for (const e of edits) {
    parts.push(value.slice(at, e.start), map(e.replacement));
    at = e.end;
  }
  parts.push(value.slice(at));
  return parts.join('');
}

/** Browsers strip leading C0 controls and spaces from URLs. */
function leadingSpace(value: string): number {
  let i = 0;
  while (i < value.length && value.charCodeAt(i) <= 0x20) i++;
  return i;
}

function authorityEnd(url: string, from: number): number {
  const i = url.slice(from).search(/[/?#\\]/);
  return i === -1 ? url.length : from + i;
}

/** Is `authority` (maybe with userinfo) the upstream itself or the gateway host the client used? */
function isSameOrigin(authority: string, scheme: string | undefined, ctx: RewriteContext): boolean {
  const host = canonicalHost(authority.slice(authority.lastIndexOf('@') + 1), scheme);
  if (host === '') return false;
  return (
    host === canonicalHost(ctx.upstreamHost, scheme) ||
    host === canonicalHost(ctx.requestHost, scheme) ||
    (ctx.sentHost !== undefined && host === canonicalHost(ctx.sentHost, scheme)) ||
    isServiceHost(host, scheme, ctx.service)
  );
}

/** `web.team-a.svc.cluster.local[:port]` and the shorter forms a pod's resolver completes. */
function isServiceHost(
  host: string,
  scheme: string | undefined,
  service: RewriteContext['service'],
): boolean {
  if (service === undefined) return false;
  const colon = host.lastIndexOf(':');
  const hasPort = colon !== -1 && /^\d+$/.test(host.slice(colon + 1));
  const name = (hasPort ? host.slice(0, colon) : host).replace(/\.$/, '');
  const port = hasPort ? host.slice(colon + 1) : scheme === undefined ? undefined : DEFAULT_PORT[scheme];
  if (port !== undefined && port !== String(service.port)) return false;
  const svc = `${service.name}.${service.namespace}.svc`.toLowerCase();
  return (
    name === service.name.toLowerCase() ||
    name === `${service.name}.${service.namespace}`.toLowerCase() ||
    name === svc ||
    name.startsWith(`${svc}.`)
  );
}

/** Lower-cased host, without the default port of `scheme` (`a:80` is `a` for http). */
function canonicalHost(host: string, scheme: string | undefined): string {
  const h = host.toLowerCase();
  const port = scheme === undefined ? undefined : DEFAULT_PORT[scheme];
  return port !== undefined && h.endsWith(`:${port}`) ? h.slice(0, -port.length - 1) : h;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
