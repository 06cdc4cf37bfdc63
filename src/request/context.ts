import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Identity } from './identity.js';
import type { Decision, RequestAttributes } from './attributes.js';
import { GatewayError } from '../errors.js';
import type { ClientAddress } from './forwarded-for.js';
import type { ProxyPath } from './proxy-path.js';
import type { Endpoint, Target } from './target.js';
import type { TunnelAudit } from './tunnel.js';

/**
 * What the pipeline learned about one request, stage by stage. It is filled
 * in as the request moves along and read once at the end by the access log,
 * the audit log and the metrics.
 */
export interface RequestContext {
  id: string;
  startedAt: bigint;
  method: string;
  /** The request target as received (the forwarder rewrites req.url). */
  url: string;
  /** The Host header the client used. */
  host?: string;
  /** The client's address and the X-Forwarded-For the gateway vouches for (listen.trustedProxies). */
  client: ClientAddress;
  /** How the client reached us: the path form, or host routing. */
  via: 'path' | 'host';
  /** Host routing: the host label names two targets (refused at resolve, after authorization). */
  hostAmbiguity?: GatewayError;
  /** A request for the gateway's own pages (portal, sign-in, JWKS), not a proxied one. */
  page?: boolean;
  proxyPath?: ProxyPath;
  identity?: Identity;
  attributes?: RequestAttributes;
  decision?: Decision;
  target?: Target;
  endpoint?: Endpoint;
  /** Endpoints tried before the one that answered (connect failures). */
  retries: number;
  upgrade: boolean;
  /** Response body bytes sent to the client (for a tunnel: the bytes relayed to it). */
  bytes: number;
  /** A TCP tunnel, once it ended: how and how much (its close audit event carries it). */
  tunnel?: TunnelAudit;
  /**
   * Aborted when the client goes away before its answer. Every stage awaits IO
   * (TokenReview, SubjectAccessReview, pod lookups) during which Node may already
   * have emitted 'close': the pipeline checks this after each await, so a
   * cancelled request is never sent upstream. The reason is a ClientClosedRequest.
   */
  signal: AbortSignal;
  /** Marks the request as cancelled by its client (the pipeline calls it on 'close'). */
  cancel(): void;
}

/** nginx's status for a request its client closed before the answer: the access log records it. */
export const CLIENT_CLOSED_REQUEST = 499;

/** Why a request's signal was aborted; never sent (there is nobody to send it to). */
export const clientClosedRequest = () =>
  new GatewayError(CLIENT_CLOSED_REQUEST, '', 'client closed the request before the answer');

export function newRequestContext(
  req: IncomingMessage,
  upgrade = false,
  client?: ClientAddress,
): RequestContext {
  const given = req.headers['x-request-id'];
  const cancellation = new AbortController();
  return {
    id: typeof given === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(given) ? given : randomUUID(),
    startedAt: process.hrtime.bigint(),
    method: req.method ?? 'GET',
    url: req.url ?? '/',
    host: req.headers.host,
    client: client ?? peerAddress(req),
    via: 'path',
    retries: 0,
    upgrade,
    bytes: 0,
    signal: cancellation.signal,
    cancel: () => cancellation.abort(clientClosedRequest()),
  };
}

/** The connection's peer, as the client address when no trusted proxy names another. */
function peerAddress(req: IncomingMessage): { ip: string; forwardedFor: string } {
  const ip = req.socket?.remoteAddress ?? '';
  return { ip, forwardedFor: ip };
}

export function elapsedMs(ctx: RequestContext): number {
  return Number(process.hrtime.bigint() - ctx.startedAt) / 1e6;
}
