/**
 * The first stage: where does this request go? A proxy URL (the path form) or
 * a routed host names a target (a `ProxyPath`); anything else is one of the
 * gateway's own pages (undefined). The request target is made origin-form
 * first, so the host router and the URL grammar read the same thing.
 */
import type { IncomingMessage } from 'node:http';
import { isReservedHostPath } from '../authn/handoff/index.js';
import type { Config } from '../config/schema.js';
import { badRequest } from '../errors.js';
import { boundedMemo } from '../memo.js';
import type { ClusterState } from '../kube/cluster-state.js';
import { createHostRouter } from '../proxy/host-route.js';
import type { RequestContext } from '../request/context.js';
import { parseProxyPath, percentDecodeBytes, type ProxyPath } from '../request/proxy-path.js';
import { canonicalAuthority, isValidHostHeader, originForm } from '../request/request-target.js';

/** Proxy URL or host route → ProxyPath; undefined for the gateway's own pages. Throws 400/404. */
export type Route = (req: IncomingMessage, ctx: RequestContext) => ProxyPath | undefined;

function hostHeaderCount(raw: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i].length === 4 && raw[i].toLowerCase() === 'host') n++;
  return n;
}

/**
 * Most requests name a URL an earlier one named: each is parsed once (the answer frozen, as it is
 * shared). Bounded in count and in the length of the URLs kept; one that fails is parsed every time.
 */
const REMEMBERED_URLS = 1024;
const REMEMBERED_URL_LENGTH = 512;

export function createRoute(routing: Config['routing'], publicURL: URL, state: ClusterState): Route {
  const parseRemembered = boundedMemo((url) => Object.freeze(parseProxyPath(url)), REMEMBERED_URLS);
  const parse = (url: string) =>
    url.length <= REMEMBERED_URL_LENGTH ? parseRemembered(url) : parseProxyPath(url);
  const hosts = createHostRouter(routing, (namespace, name) => state.service(namespace, name));
  const publicHost = canonicalAuthority(publicURL.host, publicURL.protocol as 'http:' | 'https:');
  const isOurs = (authority: string) =>
    authority === publicHost || (hosts.enabled && hosts.route(authority, '/') !== undefined);

  return (req, ctx) => {
    // RFC 9112 §3.2: node keeps the first of several Hosts, a proxy in front may have read another.
    if (hostHeaderCount(req.rawHeaders) > 1) throw badRequest('more than one Host header');
    if (req.headers.host && !isValidHostHeader(req.headers.host)) throw badRequest('invalid Host header');
    const target = originForm(req.url ?? '/', req.headers.host, isOurs);
    if (target !== req.url) req.url = ctx.url = target;
    if (hosts.enabled) {
      const routed = hosts.route(req.headers.host, req.url ?? '/');
      // `/.kube-bastion/` on a routed host is the gateway's (sign-in handoff), as it would go upstream: never proxied.
      if (routed && isReservedHostPath(percentDecodeBytes(routed.path.path) ?? '')) return undefined;
      if (routed) {
        ctx.via = 'host';
        ctx.hostAmbiguity = routed.ambiguity;
        return routed.path;
      }
    }
    return parse(req.url ?? '/');
  };
}
