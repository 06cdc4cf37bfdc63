/**
 * How a request is sent: this file prepares the upstream headers, chooses the
 * endpoint per attempt and retries connection failures on another endpoint.
 * Each attempt runs over node:http's keep-alive pools (upstream-attempt.ts:
 * timeouts, streaming, abort propagation), its response goes back through
 * relay.ts; WebSocket upgrades go to upgrade-forwarder.ts. Where to send was
 * decided before (resolve.ts).
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import { GatewayError, serviceUnavailable } from '../errors.js';
import type { RequestContext } from '../server/request-context.js';
import { isConnectError, isIdempotent } from './balancer/retry.js';
import { BodyCopy } from './body-copy.js';
import { upstreamRequestHeaders } from './headers.js';
import { relay, type ResponseRewriter } from './relay.js';
import type { Endpoint, Target } from './target.js';
import { createUpgradeForwarder } from './upgrade-forwarder.js';
import { headerList, startAttempt, type AttemptProgress, type RunningAttempt } from './upstream-attempt.js';
import { upstreamError } from './upstream-error.js';

export type Outcome = 'success' | 'connect-error' | 'server-error' | 'cancelled';
type Finish = (outcome: Outcome) => void;
export type { ResponseRewriter };

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

/** Decides whether a failed attempt may be repeated on another endpoint. */
export interface RetryPolicy {
  /** `attempt` counts from 1 for the first retry; `failure` says how far the failed attempt got. */
  mayRetry(
    target: Target,
    req: IncomingMessage,
    failure: AttemptProgress & { errorCode: string | undefined; bodyReplayable?: boolean },
    attempt: number,
  ): boolean;
  /** Records a request, so a budget can cap retries as a share of the target's traffic. */
  recordRequest(target: Target): void;
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
  isReservedHeader: (normalizedName: string) => boolean;
  isSessionCookie: (name: string) => boolean;
  /** Identity headers and signed assertion for this caller and target. */
  identityHeaders: (ctx: RequestContext) => Promise<Record<string, string>>;
  /** Key for session affinity (client IP or user). */
  affinityKey: (req: IncomingMessage, ctx: RequestContext) => string;
  /** Largest request body streamed upstream (0: unlimited); a declared larger one is refused earlier. */
  maxRequestBodyBytes?: number;
  metrics?: ForwarderMetrics;
}

const clientIP = (req: IncomingMessage) => req.socket.remoteAddress ?? '';

/** A request without Content-Length or Transfer-Encoding has no body (RFC 9112 §6.3). */
const hasBody = (req: IncomingMessage) =>
  req.headers['transfer-encoding'] !== undefined ||
  (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');

export function createForwarder(o: ForwarderOptions) {
  const agentOptions: http.AgentOptions = {
    keepAlive: true,
    maxFreeSockets: 256,
    timeout: o.idleTimeoutMs,
    // The most recently used connection first: the others age out, and the pool stays small.
    scheduling: 'lifo',
  };
  const agents = {
    http: new http.Agent(agentOptions),
    https: new https.Agent({ ...agentOptions, rejectUnauthorized: o.tls.verify, ca: o.tls.ca }),
  };
  /** The sanitized upstream headers (with identity) and the upstream path + query. */
  async function prepare(
    req: IncomingMessage,
    ctx: RequestContext,
    upgrade: boolean,
  ): Promise<{ headers: http.IncomingHttpHeaders; path: string }> {
    const target = ctx.target!;
    const path = ctx.proxyPath!;
    const upstreamPath = target.path === '' ? '/' : target.path;
    const headers = upstreamRequestHeaders(req.headers, {
      clientIP: clientIP(req),
      proto: o.proto,
      host: req.headers.host ?? '',
      prefix: ctx.via === 'path' ? path.prefix : '',
      forwardedUri: ctx.via === 'path' ? path.prefix + target.path : target.path,
      isReservedHeader: o.isReservedHeader,
      isSessionCookie: o.isSessionCookie,
      upgrade,
    });
    Object.assign(headers, await o.identityHeaders(ctx));
    return { headers, path: upstreamPath + (path.rawQuery ? `?${path.rawQuery}` : '') };
  }

  async function web(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): Promise<void> {
    const target = ctx.target!;
    if (target.path === '' && (req.method === 'GET' || req.method === 'HEAD'))
      return redirectToRoot(res, ctx);
    const prepared = await prepare(req, ctx, false);
    // The client may have left while identity headers were made: send nothing upstream then.
    ctx.signal.throwIfAborted();
    const headers = headerList(prepared.headers);
    const body = hasBody(req) ? req : undefined;
    // Idempotent requests keep a copy of a small body, so a reset after it went out can be retried.
    const copy =
      body && BodyCopy.worthKeeping(req, isIdempotent(req.method ?? '')) ? new BodyCopy(body) : undefined;
    let sendBody: IncomingMessage | Buffer | undefined = body;
    o.retry.recordRequest(target);
    const tried = new Set<string>();
    const client = { key: o.affinityKey(req, ctx) };

    return new Promise<void>((resolve, reject) => {
      let running: RunningAttempt | undefined;
      let done: Finish = () => {};
      let finished = false;
      const settle = (err?: GatewayError) => {
        if (finished) return;
        finished = true;
        if (err) reject(err);
        else resolve();
      };
      // The client went away before the response: cancel the upstream request.
      res.once('close', () => {
        if (res.headersSent || finished) return;
        running?.cancel();
        done('cancelled');
        settle();
      });

      const attempt = (endpoint: Endpoint): void => {
        ctx.endpoint = endpoint;
        tried.add(`${endpoint.ip}:${endpoint.port}`);
        done = o.picker.start(target, endpoint);
        const startedAt = performance.now();
        running = startAttempt(
          {
            scheme: target.scheme,
            ip: endpoint.ip,
            port: endpoint.port,
            method: req.method ?? 'GET',
            path: prepared.path,
            headers,
            agent: target.scheme === 'https' ? agents.https : agents.http,
            body: sendBody,
            connectTimeoutMs: o.connectTimeoutMs,
            responseHeaderTimeoutMs: o.responseHeaderTimeoutMs,
          },
          {
            response(upstream) {
              o.metrics?.upstreamDuration.observe((performance.now() - startedAt) / 1000);
              const finish = done;
              relay(upstream, res, ctx, o.rewriter, (outcome) => {
                finish(outcome);
                settle();
              });
            },
            error: onError,
          },
        );
      };

      const onError = (err: NodeJS.ErrnoException, progress: AttemptProgress): void => {
        if (finished) return;
        if (res.destroyed) {
          done('cancelled');
          return settle();
        }
        const connectFailed = isConnectError(err.code);
        if (connectFailed) o.metrics?.upstreamConnectErrors.inc();
        done(connectFailed ? 'connect-error' : 'server-error');
        const error = upstreamError(err);
        if (body) body.unpipe();
        // Pick first: a retry is only counted (and taken from the budget) when there is somewhere to go.
        const next = o.picker.pick(target, client, tried);
        const replay = progress.bodyStarted ? copy?.whole() : undefined;
        const failure = { ...progress, errorCode: err.code, bodyReplayable: replay !== undefined };
        if (next && o.retry.mayRetry(target, req, failure, ctx.retries + 1)) {
          ctx.retries += 1;
          if (replay) sendBody = replay;
          return attempt(next);
        }
        settle(error);
      };

      // A chunked body has no declared length: count it as it streams, and cut it at the limit.
      const limit = o.maxRequestBodyBytes ?? 0;
      if (body && limit > 0) {
        let received = 0;
        body.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received <= limit || finished) return;
          body.unpipe();
          running?.cancel();
          done('cancelled');
          if (res.headersSent) return void res.destroy();
          res.setHeader('connection', 'close'); // do not read the rest of the body
          settle(new GatewayError(413, 'RequestEntityTooLarge', 'request body too large'));
        });
      }

      const first = o.picker.pick(target, client, tried);
      if (first) attempt(first);
      else settle(serviceUnavailable(`no endpoints available for service "${target.segment}"`));
    });
  }

  const websockets = createUpgradeForwarder({
    picker: o.picker,
    tls: o.tls,
    connectTimeoutMs: o.connectTimeoutMs,
    responseHeaderTimeoutMs: o.responseHeaderTimeoutMs,
    affinityKey: o.affinityKey,
    prepare: (req, ctx) => prepare(req, ctx, true),
  });

  return {
    web,
    upgrade: websockets.upgrade,
    /** Open upgraded connections (for graceful shutdown). */
    upgrades: websockets.upgrades,
    close(): void {
      agents.http.destroy();
      agents.https.destroy();
      websockets.close();
    },
  };
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
