/**
 * WebSocket upgrades, relayed by http-proxy-3 (plain requests go through
 * upstream-attempt.ts). One endpoint per upgrade, chosen by the same balancer;
 * the plain requests' connect and response-header deadlines, which
 * http-proxy-3 does not have; a client that leaves before the backend answers
 * cancels the upstream request; and every open upgraded connection is known,
 * so graceful shutdown can close it with 1001.
 */
import type { ClientRequest, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { ProxyServer } from 'http-proxy-3';
import { badRequest, serviceUnavailable } from '../errors.js';
import type { RequestContext } from '../server/request-context.js';
import { sendUpgradeError } from '../web/error-response.js';
import { isConnectError } from './balancer/retry.js';
import type { Picker } from './forward.js';
import type { Endpoint, Target } from './target.js';
import { applyUpgradeDeadlines } from './upgrade-deadlines.js';
import { upstreamError } from './upstream-error.js';

export interface UpgradeForwarderOptions {
  picker: Picker;
  tls: { verify: boolean; ca?: string };
  connectTimeoutMs: number;
  responseHeaderTimeoutMs: number;
  affinityKey: (req: IncomingMessage, ctx: RequestContext) => string;
  /** The sanitized upstream headers (with identity) and path, as for plain requests. */
  prepare(req: IncomingMessage, ctx: RequestContext): Promise<{ headers: IncomingHttpHeaders; path: string }>;
}

export function createUpgradeForwarder(o: UpgradeForwarderOptions) {
  const proxy = new ProxyServer({ xfwd: false, toProxy: true, followRedirects: false });
  const upgrades = new Set<Duplex>();
  // http-proxy-3 re-emits every error of an upgraded client socket (a browser tab closed mid-WebSocket:
  // ECONNRESET) on the proxy, and throws when nobody listens. Upstream errors already reach the callbacks.
  proxy.on('error', () => undefined);
  // http-proxy-3 puts no deadline on an upgrade's upstream request: the plain requests' limits apply.
  const deadlines = {
    connectTimeoutMs: o.connectTimeoutMs,
    responseHeaderTimeoutMs: o.responseHeaderTimeoutMs,
  };
  // Each upgrade's upstream request until the backend answers, by client socket: a client that
  // leaves before then cancels it (http-proxy-3 would carry on connecting).
  const unanswered = new WeakMap<Duplex, ClientRequest>();
  // A backend that answers the upgrade with a plain response: http-proxy-3 relays it and closes,
  // so the client got that status, not 101.
  const refusedWith = new WeakMap<Duplex, number>();
  proxy.on('proxyReqWs', (upstream, _req, socket) => {
    applyUpgradeDeadlines(upstream, deadlines);
    unanswered.set(socket, upstream);
    upstream.once('upgrade', () => unanswered.delete(socket));
    upstream.once('response', (res: IncomingMessage) => {
      unanswered.delete(socket);
      refusedWith.set(socket, res.statusCode ?? 502);
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

  async function upgrade(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    ctx: RequestContext,
  ): Promise<number> {
    const target = ctx.target!;
    if (String(req.headers.upgrade ?? '').toLowerCase() !== 'websocket' || req.method !== 'GET') {
      throw badRequest('only WebSocket upgrades (GET with Upgrade: websocket) are proxied');
    }
    const endpoint = o.picker.pick(target, { key: o.affinityKey(req, ctx) });
    if (!endpoint) throw serviceUnavailable(`no endpoints available for service "${target.segment}"`);
    ctx.endpoint = endpoint;
    const prepared = await o.prepare(req, ctx);
    ctx.signal.throwIfAborted();
    req.headers = prepared.headers;
    req.url = prepared.path;
    const done = o.picker.start(target, endpoint);
    upgrades.add(socket);
    return new Promise<number>((resolve, reject) => {
      let settled = false;
      // The client left (the pipeline aborts on its 'end' or 'close') before the backend answered: the
      // upgrade never happened, so the upstream request is dropped and the pipeline logs 499, not 101.
      // Once upgraded, the same events are the WebSocket's normal end ('close' below).
      const leftEarly = () => {
        const upstream = unanswered.get(socket);
        if (settled || !upstream) return;
        settled = true;
        unanswered.delete(socket);
        done('cancelled');
        upstream.destroy();
        reject(ctx.signal.reason as Error);
      };
      ctx.signal.addEventListener('abort', leftEarly, { once: true });
      socket.once('close', () => {
        upgrades.delete(socket);
        ctx.signal.removeEventListener('abort', leftEarly);
        const status = refusedWith.get(socket) ?? 101;
        done(status >= 500 ? 'server-error' : 'success');
        if (!settled) resolve(status);
        settled = true;
      });
      proxy.ws(
        req,
        socket,
        head,
        {
          target: targetOf(target, endpoint),
          agent: false,
          secure: o.tls.verify,
          // The plain path's https agent has it too: wss backends signed by a private CA verify.
          ca: o.tls.ca,
        },
        (err: NodeJS.ErrnoException) => {
          done(isConnectError(err.code) ? 'connect-error' : 'server-error');
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
    upgrade,
    /** Open upgraded connections (for graceful shutdown). */
    upgrades: upgrades as ReadonlySet<Duplex>,
    close(): void {
      proxy.removeAllListeners();
    },
  };
}
