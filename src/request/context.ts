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
  readonly id: string;
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
  readonly signal: AbortSignal;
  /** Why the request was cancelled (a ClientClosedRequest), once its client went away; the signal's reason. */
  readonly cancelled: GatewayError | undefined;
  /** Throws `cancelled` if set: the pipeline's check after each await. */
  throwIfCancelled(): void;
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
  return new Context(req, upgrade, client ?? peerAddress(req));
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * The hot path makes one per request: the AbortController behind `signal` is made only for the few
 * that listen (an upgrade waiting for its backend), the rest read `cancelled`.
 */
class Context implements RequestContext {
  /** The client's X-Request-Id when it is usable; otherwise one is made when first read. */
  private given: string | undefined;
  startedAt = process.hrtime.bigint();
  method: string;
  url: string;
  host: string | undefined;
  via: 'path' | 'host' = 'path';
  // The optional fields of RequestContext are added stage by stage, as the request moves along.
  retries = 0;
  bytes = 0;
  cancelled: GatewayError | undefined = undefined;
  private controller: AbortController | undefined = undefined;

  constructor(
    req: IncomingMessage,
    readonly upgrade: boolean,
    readonly client: ClientAddress,
  ) {
    const given = req.headers['x-request-id'];
    if (typeof given === 'string' && REQUEST_ID.test(given)) this.given = given;
    this.method = req.method ?? 'GET';
    this.url = req.url ?? '/';
    this.host = req.headers.host;
  }

  /** Most requests are never asked for it (no log line at the default level, no error): made on demand. */
  get id(): string {
    return (this.given ??= randomUUID());
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.cancelled) this.controller.abort(this.cancelled);
    }
    return this.controller.signal;
  }

  throwIfCancelled(): void {
    if (this.cancelled) throw this.cancelled;
  }

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = clientClosedRequest();
    this.controller?.abort(this.cancelled);
  }
}

/** The connection's peer, as the client address when no trusted proxy names another. */
function peerAddress(req: IncomingMessage): { ip: string; forwardedFor: string } {
  const ip = req.socket?.remoteAddress ?? '';
  return { ip, forwardedFor: ip };
}

export function elapsedMs(ctx: RequestContext): number {
  return Number(process.hrtime.bigint() - ctx.startedAt) / 1e6;
}
