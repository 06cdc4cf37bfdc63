/**
 * Builds the pipeline's stages from the gateway's parts. Each stage is a thin
 * adapter over its module (authn/, authz/, proxy/); the order lives in
 * pipeline.ts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isReservedHostPath } from '../authn/handoff/index.js';
import type { Config } from '../config/schema.js';
import { GatewayError, badRequest, forbidden, unauthorized } from '../errors.js';
import type { ClusterState } from '../kube/cluster-state.js';
import {
  PROXY_METHODS,
  hasDryRun,
  parseProxyPath,
  percentDecodeBytes,
  type ProxyPath,
} from '../proxy/grammar.js';
import { createHostRouter } from '../proxy/host-route.js';
import type { Parts } from './parts.js';
import type { Stages } from './pipeline.js';
import type { RequestContext } from './request-context.js';
import { canonicalAuthority, isValidHostHeader, originForm } from './request-target.js';

function hostHeaderCount(raw: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i].length === 4 && raw[i].toLowerCase() === 'host') n++;
  return n;
}

export function createStages(config: Config, state: ClusterState, parts: Parts): Stages {
  const hosts = createHostRouter(config.routing, (namespace, name) => state.service(namespace, name));
  const publicURL = new URL(config.publicURL);
  const publicHost = canonicalAuthority(publicURL.host, publicURL.protocol as 'http:' | 'https:');
  const isOurs = (authority: string) =>
    authority === publicHost || (hosts.enabled && hosts.route(authority, '/') !== undefined);

  function route(req: IncomingMessage, ctx: RequestContext): ProxyPath | undefined {
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
    return parseProxyPath(req.url ?? '/');
  }

  async function authenticate(
    req: IncomingMessage,
    _ctx: RequestContext,
    res?: ServerResponse,
  ): Promise<NonNullable<RequestContext['identity']>> {
    const identity = await parts.authentication.authenticate(req, res);
    if (identity) return identity;
    if (parts.anonymous) return parts.anonymous;
    throw unauthorized();
  }

  /**
   * A tunnel is for programs, never for web pages: every browser WebSocket carries an Origin,
   * and a page served through the path form shares the gateway's origin (and the person's
   * cookie), so without this any proxied app's script could open raw TCP to a database as
   * whoever views it. `kube-bastion connect` and other tools send no Origin. Sec-WebSocket-Origin
   * is the same header as browsers of the hybi-08 draft spelled it (ws still accepts version 8).
   */
  function admitTunnel(req: IncomingMessage, ctx: RequestContext): void {
    // As the apiserver answers a plain request for a connect subresource that needs a stream.
    if (!ctx.upgrade) {
      throw badRequest('Upgrade request required: a tunnel is a WebSocket (kube-bastion connect)');
    }
    if (req.headers.origin !== undefined || req.headers['sec-websocket-origin'] !== undefined) {
      throw forbidden(
        'a tunnel cannot be opened from a web page (the request has an Origin): use kube-bastion connect',
      );
    }
  }

  function admit(req: IncomingMessage, ctx: RequestContext): void {
    if (ctx.proxyPath!.subresource === 'portforward') admitTunnel(req, ctx);
    if (!PROXY_METHODS.has(ctx.method)) {
      throw new GatewayError(
        405,
        'MethodNotAllowed',
        'the server does not allow this method on the requested resource',
      );
    }
    if (hasDryRun(ctx.proxyPath!.rawQuery)) throw badRequest('dryRun is not supported');
    // Cookie callers need a same-origin Origin on unsafe methods (CSRF); every
    // WebSocket upgrade needs one whatever the credential (cross-site hijacking).
    parts.checkOrigin(req, ctx.identity!, ctx.upgrade, ctx.via === 'host');
    if (config.upstream.maxRequestBodyBytes > 0) {
      const length = Number(req.headers['content-length'] ?? 0);
      if (length > config.upstream.maxRequestBodyBytes) {
        throw new GatewayError(413, 'RequestEntityTooLarge', 'request body too large');
      }
    }
  }

  return {
    route,
    authenticate,
    attributes: (req, path, identity, upgrade) =>
      parts.attributes(req.method ?? 'GET', path, identity, upgrade),
    authorize: (attrs) => parts.authorizer.authorize(attrs),
    admit,
    // An ambiguous host is refused only here, after authorization: an outsider learns nothing of what exists.
    resolve: async (path, ctx) => {
      if (ctx.hostAmbiguity) throw ctx.hostAmbiguity;
      const target = await parts.resolveTarget(path);
      // A tunnel may reach only the ports tunnels.ports allows: refused here, before the upgrade.
      return path.subresource === 'portforward' ? parts.tunnels.admitTarget(target) : target;
    },
    // The forwarder returns what it learned; the request's record is kept here.
    forward: async (req, res, ctx) => {
      const learned = await parts.forwarder.web(req, res, ctx);
      ctx.endpoint = learned.endpoint;
      ctx.retries = learned.retries;
      ctx.bytes = learned.bytesOut;
      if (learned.error) throw learned.error;
    },
    forwardUpgrade: (req, socket, head, ctx) =>
      ctx.proxyPath!.subresource === 'portforward'
        ? parts.tunnels.upgrade(req, socket, head, ctx)
        : parts.forwarder.upgrade(req, socket, head, ctx),
  };
}
