/**
 * How a request is sent: http-proxy-3 does the wire work (streaming, abort
 * propagation, WebSocket relay); this file chooses the endpoint per attempt,
 * retries connection failures on another endpoint, enforces timeouts and
 * shapes the response. Where to send was decided before (resolve.ts).
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { ProxyServer } from 'http-proxy-3';
import { GatewayError, badRequest, gatewayTimeout, serviceUnavailable } from '../errors.js';
import type { RequestContext } from '../server/request-context.js';
import { sendUpgradeError } from '../web/error-response.js';
import { isConnectError } from './balancer/retry.js';
import { downstreamResponseHeaders, upstreamRequestHeaders } from './headers.js';
import type { Endpoint, Target } from './target.js';

export type Outcome = 'success' | 'connect-error' | 'server-error' | 'cancelled';

/** The balancer as the forwarder sees it. */
export interface Picker {
  pick(target: Target, client: { key: string }, exclude?: ReadonlySet<string>): Endpoint | undefined;
  start(target: Target, endpoint: Endpoint): (outcome: Outcome) => void;
}

/** Decides whether a failed attempt may be repeated on another endpoint. */
export interface RetryPolicy {
  /** `attempt` counts from 1 for the first retry. */
  mayRetry(req: IncomingMessage, errorCode: string | undefined, attempt: number): boolean;
  /** Records a request, so a budget can cap retries as a share of traffic. */
  recordRequest(): void;
}

/** Rewrites responses of the path form (Location, Set-Cookie, HTML); identity when off. */
export interface ResponseRewriter {
  headers(
    headers: http.OutgoingHttpHeaders,
    ctx: RequestContext,
    statusCode: number,
  ): http.OutgoingHttpHeaders;
  body(upstream: IncomingMessage, ctx: RequestContext): NodeJS.ReadableStream;
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
}

interface Attempt {
  ctx: RequestContext;
  done: (outcome: Outcome) => void;
  timers: NodeJS.Timeout[];
  settle: (err?: GatewayError) => void;
}

const clientIP = (req: IncomingMessage) => req.socket.remoteAddress ?? '';

export function createForwarder(o: ForwarderOptions) {
  const agents = {
    http: new http.Agent({
      keepAlive: true,
      maxFreeSockets: 256,
      timeout: o.idleTimeoutMs,
      scheduling: 'lifo',
    }),
    https: new https.Agent({
      keepAlive: true,
      maxFreeSockets: 256,
      timeout: o.idleTimeoutMs,
      scheduling: 'lifo',
      rejectUnauthorized: o.tls.verify,
      ca: o.tls.ca,
    }),
  };
  const proxy = new ProxyServer({
    xfwd: false,
    toProxy: true,
    selfHandleResponse: true,
    followRedirects: false,
  });
  const attempts = new WeakMap<IncomingMessage, Attempt>();
  const upgrades = new Set<Duplex>();
  // http-proxy-3 re-emits every error of an upgraded client socket (a browser tab closed mid-WebSocket:
  // ECONNRESET) on the proxy, and throws when nobody listens. Upstream errors already reach the callbacks.
  proxy.on('error', () => undefined);

  proxy.on('proxyReq', (proxyReq, req, _res, _opts, socket) => {
    const a = attempts.get(req);
    if (!a) return;
    if (socket.connecting) {
      const t = setTimeout(
        () => proxyReq.destroy(codeError('ECONNECTTIMEOUT', 'connect timeout')),
        o.connectTimeoutMs,
      );
      a.timers.push(t);
      socket.once('connect', () => clearTimeout(t));
    }
    a.timers.push(
      setTimeout(
        () => proxyReq.destroy(codeError('ERESPONSETIMEOUT', 'timeout awaiting response headers')),
        o.responseHeaderTimeoutMs,
      ),
    );
  });

  proxy.on('proxyRes', (proxyRes, req, res) => {
    const a = attempts.get(req);
    if (!a) return;
    a.timers.forEach(clearTimeout);
    const status = proxyRes.statusCode ?? 502;
    const outcome: Outcome = status >= 500 ? 'server-error' : 'success';
    const pathForm = a.ctx.via === 'path';
    let headers = downstreamResponseHeaders(proxyRes.headers, pathForm);
    let body: NodeJS.ReadableStream = proxyRes;
    if (o.rewriter && pathForm) {
      headers = o.rewriter.headers(headers, a.ctx, status);
      body = o.rewriter.body(proxyRes, a.ctx);
    }
    res.writeHead(status, proxyRes.statusMessage, headers);
    body.on('data', (chunk: Buffer) => (a.ctx.bytes += chunk.length));
    // A failing body (upstream reset, corrupt gzip) can only end the connection: headers are out.
    body.on('error', () => res.destroy());
    body.pipe(res);
    res.once('close', () => {
      if (!res.writableFinished) {
        proxyRes.destroy();
        if (body !== proxyRes) (body as NodeJS.ReadableStream & { destroy(): void }).destroy();
      }
      a.done(res.writableFinished ? outcome : 'cancelled');
      a.settle();
    });
  });

  function targetOf(target: Target, e: Endpoint) {
    return {
      protocol: `${target.scheme}:`,
      host: e.ip.includes(':') ? `[${e.ip}]` : e.ip,
      hostname: e.ip,
      port: e.port,
    };
  }

  /** Sets the sanitized upstream headers and URL on the request (http-proxy-3 copies them). */
  async function prepare(req: IncomingMessage, ctx: RequestContext, upgrade: boolean): Promise<void> {
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
    req.headers = headers;
    req.url = upstreamPath + (path.rawQuery ? `?${path.rawQuery}` : '');
  }

  async function web(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): Promise<void> {
    const target = ctx.target!;
    if (target.path === '' && (req.method === 'GET' || req.method === 'HEAD'))
      return redirectToRoot(res, ctx);
    await prepare(req, ctx, false);
    o.retry.recordRequest();
    const tried = new Set<string>();
    const client = { key: o.affinityKey(req, ctx) };

    return new Promise<void>((resolve, reject) => {
      const tryOnce = (previous?: GatewayError): void => {
        const endpoint = o.picker.pick(target, client, tried);
        if (!endpoint) {
          reject(previous ?? serviceUnavailable(`no endpoints available for service "${target.name}"`));
          return;
        }
        ctx.endpoint = endpoint;
        tried.add(`${endpoint.ip}:${endpoint.port}`);
        const attempt: Attempt = {
          ctx,
          done: o.picker.start(target, endpoint),
          timers: [],
          settle: (err) => (err ? reject(err) : resolve()),
        };
        attempts.set(req, attempt);
        proxy.web(
          req,
          res,
          {
            target: targetOf(target, endpoint),
            agent: target.scheme === 'https' ? agents.https : agents.http,
            secure: o.tls.verify,
          },
          (err) => onError(err, attempt, tryOnce),
        );
      };
      tryOnce();
    });

    function onError(err: NodeJS.ErrnoException, a: Attempt, retry: (previous?: GatewayError) => void): void {
      a.timers.forEach(clearTimeout);
      // The client went away: http-proxy-3 already cancelled the upstream request.
      if (res.destroyed || req.socket.destroyed) {
        a.done('cancelled');
        a.settle();
        return;
      }
      const connectFailed = isConnectError(err.code);
      a.done(connectFailed ? 'connect-error' : 'server-error');
      const error = upstreamError(err);
      if (res.headersSent) {
        res.destroy();
        a.settle();
        return;
      }
      if (o.retry.mayRetry(req, err.code, ctx.retries + 1)) {
        ctx.retries += 1;
        retry(error);
        return;
      }
      a.settle(error);
    }
  }

  async function upgrade(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    ctx: RequestContext,
  ): Promise<void> {
    const target = ctx.target!;
    if (String(req.headers.upgrade ?? '').toLowerCase() !== 'websocket' || req.method !== 'GET') {
      throw badRequest('only WebSocket upgrades (GET with Upgrade: websocket) are proxied');
    }
    const endpoint = o.picker.pick(target, { key: o.affinityKey(req, ctx) });
    if (!endpoint) throw serviceUnavailable(`no endpoints available for service "${target.name}"`);
    ctx.endpoint = endpoint;
    await prepare(req, ctx, true);
    const done = o.picker.start(target, endpoint);
    upgrades.add(socket);
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      socket.once('close', () => {
        upgrades.delete(socket);
        done('success');
        if (!settled) resolve();
        settled = true;
      });
      proxy.ws(
        req,
        socket,
        head,
        { target: targetOf(target, endpoint), agent: false, secure: o.tls.verify },
        (err) => {
          done('connect-error');
          if (settled) return;
          settled = true;
          // Answer now: http-proxy-3 ends the socket as soon as this callback returns.
          const error = upstreamError(err);
          sendUpgradeError(socket, error);
          reject(error);
        },
      );
    });
  }

  return {
    web,
    upgrade,
    /** Open upgraded connections (for graceful shutdown). */
    upgrades: upgrades as ReadonlySet<Duplex>,
    close(): void {
      agents.http.destroy();
      agents.https.destroy();
      proxy.removeAllListeners();
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

function codeError(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

/** The apiserver's wording: every transport failure is "error trying to reach service". */
function upstreamError(err: NodeJS.ErrnoException): GatewayError {
  const message = `error trying to reach service: ${err.message}`;
  if (err.code === 'ECONNECTTIMEOUT' || err.code === 'ERESPONSETIMEOUT') return gatewayTimeout(message);
  return serviceUnavailable(message);
}
