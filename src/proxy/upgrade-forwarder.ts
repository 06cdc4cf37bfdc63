/**
 * WebSocket upgrades, relayed by http-proxy-3 (plain requests go through
 * upstream-attempt.ts; docs/decisions/0001-http-proxy-3.md). One endpoint per
 * upgrade, chosen by the same balancer; the plain requests' connect and
 * response-header deadlines; a client that leaves before the backend answers
 * cancels the upstream request; every open upgraded connection is known, so
 * graceful shutdown can close it with 1001.
 *
 * http-proxy-3 writes the backend's status line and headers to the client as
 * it finds them. It is handed the upstream request ready-made (the sanitized
 * headers and path, never the client's), and every answer is checked before
 * it writes a byte of it (upgrade-answer.ts).
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { ProxyServer } from 'http-proxy-3';
import { badRequest, internalError, serviceUnavailable, type GatewayError } from '../errors.js';
import type { RequestContext } from '../request/context.js';
import type { Picker } from './forward.js';
import { OpenPerUser } from './open-per-user.js';
import type { ResponseRewriter } from './relay.js';
import type { Endpoint, Target } from '../request/target.js';
import { watchUpgrade, type Upgrading } from './upgrade-answer.js';
import { REFUSAL_BODY_TIMEOUT_MS } from './upgrade-response.js';

export interface UpgradeForwarderOptions {
  picker: Picker;
  tls: { verify: boolean; ca?: string };
  connectTimeoutMs: number;
  responseHeaderTimeoutMs: number;
  affinityKey: (req: IncomingMessage, ctx: RequestContext) => string;
  /** The sanitized upstream headers (with identity) and path, as for plain requests. */
  prepare(req: IncomingMessage, ctx: RequestContext): Promise<{ headers: IncomingHttpHeaders; path: string }>;
  /** Path-form Location / Set-Cookie rewriting, as for plain responses. */
  rewriter?: ResponseRewriter;
  /** Upgraded connections per user, counted with the tunnels (default: unlimited). */
  openPerUser?: OpenPerUser;
  /** An upgraded client that leaves the bytes waiting for it unread this long is cut (0: never). */
  sendTimeoutMs?: number;
  /** Writes the gateway's error answer on the client socket (ForwarderOptions.answerUpgrade). */
  answer: (socket: Duplex, err: GatewayError) => void;
}

/**
 * The request as http-proxy-3 should send it: it copies `headers` and `url`
 * into the upstream request (`toProxy`: the path as it is, not re-parsed).
 * The client's own request object stays untouched: the credential watch
 * (server/liveness/) reads its cookies for as long as the connection lasts.
 */
function upstreamView(
  req: IncomingMessage,
  prepared: { headers: IncomingHttpHeaders; path: string },
): IncomingMessage {
  const view = {
    method: 'GET',
    url: prepared.path,
    headers: prepared.headers,
    httpVersion: '1.1',
    httpVersionMajor: 1,
    httpVersionMinor: 1,
    socket: req.socket,
    connection: req.socket,
  };
  return view as unknown as IncomingMessage;
}

function targetOf(target: Target, e: Endpoint) {
  return {
    protocol: `${target.scheme}:`,
    host: e.ip.includes(':') ? `[${e.ip}]` : e.ip,
    hostname: e.ip,
    port: e.port,
  };
}

/** Calls `f` the first time only: the balancer hears one outcome per upgrade. */
function once<T>(f: (value: T) => void): (value: T) => void {
  let called = false;
  return (value) => {
    if (called) return;
    called = true;
    f(value);
  };
}

export function createUpgradeForwarder(o: UpgradeForwarderOptions) {
  const proxy = new ProxyServer({ xfwd: false, toProxy: true, prependPath: false });
  const upgrades = new Set<Duplex>();
  const perUser = o.openPerUser ?? new OpenPerUser(Infinity);
  // http-proxy-3 re-emits every error of an upgraded client socket (a browser tab closed mid-WebSocket:
  // ECONNRESET) on the proxy, and throws when nobody listens. Upstream errors reach upgrade-answer.ts.
  proxy.on('error', () => undefined);
  const deadlines = {
    connectTimeoutMs: o.connectTimeoutMs,
    responseHeaderTimeoutMs: o.responseHeaderTimeoutMs,
    // An error message gets no longer than the backend had for its head.
    refusalBodyTimeoutMs: Math.min(REFUSAL_BODY_TIMEOUT_MS, o.responseHeaderTimeoutMs),
    sendTimeoutMs: o.sendTimeoutMs ?? 0,
  };
  // The upgrade about to be handed to http-proxy-3, by client socket, until its upstream request exists.
  const starting = new Map<Duplex, Upgrading>();
  proxy.on('proxyReqWs', (upstream, _req, socket) => {
    const u = starting.get(socket);
    starting.delete(socket);
    if (u) watchUpgrade(upstream, u);
    else upstream.destroy(); // not one of ours: nothing may be sent unchecked
  });

  async function upgrade(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    ctx: RequestContext,
  ): Promise<number> {
    const target = ctx.target!;
    // Counted from here to the connection's end, whatever happens in between.
    const release = perUser.take(ctx);
    if (socket.closed) release();
    else socket.once('close', release);
    // RFC 6455 §4.1: a GET, HTTP/1.1 or later, asking for WebSocket. h2c and other protocols are not proxied.
    if (
      String(req.headers.upgrade ?? '').toLowerCase() !== 'websocket' ||
      req.method !== 'GET' ||
      req.httpVersion !== '1.1'
    ) {
      throw badRequest('only WebSocket upgrades (GET with Upgrade: websocket, HTTP/1.1) are proxied');
    }
    const endpoint = o.picker.pick(target, { key: o.affinityKey(req, ctx) });
    if (!endpoint) throw serviceUnavailable(`no endpoints available for service "${target.segment}"`);
    ctx.endpoint = endpoint;
    const prepared = await o.prepare(req, ctx);
    ctx.throwIfCancelled();
    const done = once(o.picker.start(target, endpoint));
    upgrades.add(socket);
    socket.once('close', () => upgrades.delete(socket));
    return new Promise<number>((resolve, reject) => {
      starting.set(socket, {
        ctx,
        socket,
        done,
        rewriter: o.rewriter,
        deadlines,
        answer: (err) => o.answer(socket, err),
        resolve,
        reject,
      });
      try {
        proxy.ws(upstreamView(req, prepared), socket, head, {
          target: targetOf(target, endpoint),
          agent: false,
          secure: o.tls.verify,
          // The plain path's https agent has it too: wss backends signed by a private CA verify.
          ca: o.tls.ca,
          // node would take the TLS server name from the Host header (publicURL's host in the path
          // form); the endpoint is dialled by IP and verified as such, as plain requests are.
          ssl: { servername: '' },
        });
      } finally {
        // http-proxy-3 did not get as far as the upstream request: nothing was sent or answered.
        if (starting.delete(socket)) {
          done('server-error');
          reject(internalError('the upgrade could not be sent upstream'));
        }
      }
    });
  }

  return {
    upgrade,
    /** Open upgraded connections (for graceful shutdown). */
    upgrades: upgrades as ReadonlySet<Duplex>,
    close(): void {
      for (const socket of upgrades) socket.destroy();
    },
  };
}
