/**
 * How a request is sent: this file prepares the upstream headers and the
 * body's framing (framing.ts) and holds the connection pools (upstream-pool.ts,
 * undici, one per endpoint); exchange.ts runs the attempts as the attempt
 * machine decides (attempt-machine.ts: an endpoint each, retries after
 * connection failures), each over its endpoint's pool (upstream-attempt.ts:
 * streaming, cancellation, how far it got), the response going back through
 * relay.ts. The result is what the request learned; the caller records it.
 * WebSocket upgrades go to upgrade-forwarder.ts (http-proxy-3). Where to send
 * was decided before (resolve.ts).
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { GatewayError } from '../errors.js';
import type { RequestContext } from '../request/context.js';
import type { RetryPolicy } from './balancer/create.js';
import type { OpenPerUser } from './open-per-user.js';
import { isIdempotent } from './balancer/retry.js';
import type { Outcome } from './attempt-machine.js';
import { BodyCopy } from './body-copy.js';
import { exchange, type Forwarded } from './exchange.js';
import { carriesBody, framingHeader, requestFraming } from './framing.js';
import { upstreamRequestHeaderList, upstreamRequestHeaders, type UpstreamHeaderOptions } from './headers.js';
import { routedAuthority } from './host-route.js';
import type { RelayRequest, ResponseRewriter } from './relay.js';
import type { Endpoint, Target } from '../request/target.js';
import { createUpgradeForwarder } from './upgrade-forwarder.js';
import { UpstreamPools } from './upstream-pool.js';

/** Nothing was attempted (the 301 of a bare `…/proxy`). */
const NOTHING_LEARNED: Forwarded = {
  endpoint: undefined,
  retries: 0,
  bytesIn: 0,
  bytesOut: 0,
  outcome: undefined,
};

export type { Forwarded, Outcome, ResponseRewriter };

/** What the forwarder counts (structurally prom-client metrics). */
export interface ForwarderMetrics {
  upstreamConnectErrors: { inc(): void };
  /** Seconds from sending a request upstream to its response headers. */
  upstreamDuration: { observe(seconds: number): void };
}

/** The balancer as the forwarder sees it. */
export interface Picker {
  pick(target: Target, client: { key: string }, exclude?: ReadonlySet<string>): Endpoint | undefined;
  start(target: Target, endpoint: Endpoint): (outcome: Outcome) => void;
}

export interface ForwarderOptions {
  picker: Picker;
  retry: RetryPolicy;
  rewriter?: ResponseRewriter;
  connectTimeoutMs: number;
  responseHeaderTimeoutMs: number;
  idleTimeoutMs: number;
  tls: { verify: boolean; ca?: string };
  /** X-Forwarded-Proto the gateway vouches for. */
  proto: string;
  /** publicURL's host: the Host and X-Forwarded-Host upstreams see in the path form, whatever the client sent. */
  publicHost: string;
  isReservedHeader: (normalizedName: string) => boolean;
  isSessionCookie: (name: string) => boolean;
  /** Identity headers and signed assertion for this caller and target (at once when signed before). */
  identityHeaders: (
    ctx: RequestContext,
  ) => Readonly<Record<string, string>> | Promise<Readonly<Record<string, string>>>;
  /** Key for session affinity (client IP or user). */
  affinityKey: (req: IncomingMessage, ctx: RequestContext) => string;
  /** Largest request body streamed upstream (0: unlimited); a declared larger one is refused earlier. */
  maxRequestBodyBytes?: number;
  /** WebSocket connections (and tunnels) one user may have open at once. */
  openPerUser?: OpenPerUser;
  /** `listen.sendTimeout`: an upgraded client that leaves its bytes unread this long is cut. */
  clientSendTimeoutMs?: number;
  /**
   * Writes the gateway's error answer on an upgrade's client socket, at once: http-proxy-3 ends
   * that socket right after its own listener, so the answer cannot wait for the pipeline.
   * The server owns what an answer looks like (web/error-response.ts).
   */
  answerUpgrade: (socket: Duplex, err: GatewayError) => void;
  metrics?: ForwarderMetrics;
  /** `upstream.allowedAddresses`, asked again whenever a connection is dialled (resolution asked first). */
  mayDial?: (ip: string) => boolean;
}

export function createForwarder(o: ForwarderOptions) {
  const pools = new UpstreamPools({
    connectTimeoutMs: o.connectTimeoutMs,
    idleTimeoutMs: o.idleTimeoutMs,
    responseHeaderTimeoutMs: o.responseHeaderTimeoutMs,
    tls: o.tls,
    mayDial: o.mayDial,
  });
  const deps = { ...o, pools };
  /** What the upstream headers are built from, and the upstream path + query. */
  function upstreamOf(req: IncomingMessage, ctx: RequestContext, upgrade: boolean) {
    const target = ctx.target!;
    const path = ctx.proxyPath!;
    const pathForm = ctx.via === 'path';
    const upstreamPath = target.path === '' ? '/' : target.path;
    const options: UpstreamHeaderOptions = {
      forwardedFor: ctx.client.forwardedFor,
      proto: o.proto,
      // The path form is served on the gateway's own host; a routed host is the app's.
      host: pathForm ? o.publicHost : routedAuthority(req.headers.host ?? ''),
      prefix: pathForm ? path.prefix : '',
      // As the apiserver: the prefix joined with the path the upstream gets (`…/proxy/` for a bare `…/proxy`).
      forwardedUri: pathForm ? path.prefix + upstreamPath : upstreamPath,
      isReservedHeader: o.isReservedHeader,
      isSessionCookie: o.isSessionCookie,
      upgrade,
    };
    return { options, path: upstreamPath + (path.rawQuery ? `?${path.rawQuery}` : '') };
  }

  /** For a WebSocket upgrade: the sanitized upstream headers (with identity) as an object. */
  async function prepareUpgrade(
    req: IncomingMessage,
    ctx: RequestContext,
  ): Promise<{ headers: IncomingHttpHeaders; path: string }> {
    const { options, path } = upstreamOf(req, ctx, true);
    const headers = upstreamRequestHeaders(req.headers, options);
    Object.assign(headers, await o.identityHeaders(ctx));
    return { headers, path };
  }

  /**
   * Forwards a plain request and resolves, once the client response closed, with what it learned;
   * it reads `ctx` and never writes it. Throws (nothing attempted) on a body it will not forward.
   */
  async function web(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): Promise<Forwarded> {
    const target = ctx.target!;
    const method = req.method ?? 'GET';
    if (target.path === '' && (method === 'GET' || method === 'HEAD')) {
      redirectToRoot(res, ctx);
      return NOTHING_LEARNED;
    }
    const framing = requestFraming(method, req.headers);
    const upstream = upstreamOf(req, ctx, false);
    // Built once, as the flat list undici writes; identity names were dropped from the client's.
    const headers = upstreamRequestHeaderList(req.headers, upstream.options);
    let identity = o.identityHeaders(ctx);
    if (identity instanceof Promise) {
      identity = await identity;
      // The client may have left while the assertion was signed: send nothing upstream then.
      ctx.throwIfCancelled();
    }
    for (const name in identity) headers.push(name, identity[name]);
    // A body without a length goes chunked: undici writes that framing itself.
    if (framing.body !== 'chunked') headers.push(...framingHeader(framing, method));
    const body = carriesBody(framing) ? req : undefined;
    o.retry.recordRequest(target);
    return exchange(
      deps,
      {
        target,
        method,
        path: upstream.path,
        headers,
        body,
        bodyLength: framing.body === 'length' ? framing.length : framing.body === 'chunked' ? -1 : 0,
        // Idempotent requests keep a copy of a small body, so a reset after it went out can be retried.
        copy: body && BodyCopy.worthKeeping(req, isIdempotent(method)) ? new BodyCopy(body) : undefined,
        closeAfter: !framing.reuse,
        clientKey: o.affinityKey(req, ctx),
      },
      req,
      res,
      // What the relay and rewriter read; the endpoint is set once one answers.
      new RelayView(ctx, target),
    );
  }

  const websockets = createUpgradeForwarder({
    picker: o.picker,
    tls: o.tls,
    connectTimeoutMs: o.connectTimeoutMs,
    responseHeaderTimeoutMs: o.responseHeaderTimeoutMs,
    affinityKey: o.affinityKey,
    prepare: prepareUpgrade,
    rewriter: o.rewriter,
    openPerUser: o.openPerUser,
    sendTimeoutMs: o.clientSendTimeoutMs,
    answer: o.answerUpgrade,
  });

  return {
    web,
    upgrade: websockets.upgrade,
    /** Open upgraded connections (for graceful shutdown). */
    upgrades: websockets.upgrades,
    close(): void {
      pools.close();
      websockets.close();
    },
  };
}

/** What the relay and the rewriter read of a request (RelayRequest); the exchange sets the endpoint. */
class RelayView implements RelayRequest {
  readonly method: string;
  readonly url: string;
  readonly via: 'path' | 'host';
  readonly host: string | undefined;
  readonly proxyPath: RequestContext['proxyPath'];
  endpoint: Endpoint | undefined = undefined;

  constructor(
    private readonly ctx: RequestContext,
    readonly target: Target,
  ) {
    this.method = ctx.method;
    this.url = ctx.url;
    this.via = ctx.via;
    this.host = ctx.host;
    this.proxyPath = ctx.proxyPath;
  }

  /** Made on demand (RequestContext.id): only a rewriter's log line reads it. */
  get id(): string {
    return this.ctx.id;
  }
}

/**
 * `GET …/proxy` (no slash) answers 301 to `…/proxy/` keeping the query, with
 * no body and no other header, exactly as the apiserver does.
 */
function redirectToRoot(res: ServerResponse, ctx: RequestContext): void {
  const { prefix, rawQuery } = ctx.proxyPath!;
  res.writeHead(301, { location: `${prefix}/${rawQuery ? `?${rawQuery}` : ''}` });
  res.end();
}
