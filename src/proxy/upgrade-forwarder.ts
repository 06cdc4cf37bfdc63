/**
 * WebSocket upgrades. One endpoint per upgrade, chosen by the same balancer;
 * the plain requests' connect and response-header deadlines; a client that
 * leaves before the backend answers cancels the upstream request; every open
 * upgraded connection is known, so graceful shutdown can close it with 1001.
 *
 * The backend's answer is checked before a byte of it reaches the client
 * (upstream-response.ts): a 101 must switch to WebSocket with headers a client
 * may be sent; a refusal of 400 or more is relayed with checked status and
 * headers, then the connection is closed (CVE-2018-1002105: no later byte may
 * ride it); anything else (a 2xx, a redirect — CVE-2020-8559 — or an invalid
 * head) is a 502. http-proxy-3, which relayed the backend's status line and
 * headers unread, is not used here for that reason.
 */
import http, { type ClientRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { badRequest, serviceUnavailable, type GatewayError } from '../errors.js';
import type { RequestContext } from '../server/request-context.js';
import { isConnectError } from './balancer/retry.js';
import type { Outcome, Picker } from './forward.js';
import type { ResponseRewriter } from './relay.js';
import type { Endpoint, Target } from './target.js';
import { applyUpgradeDeadlines } from './upgrade-deadlines.js';
import { refusalBytes, switchingHead } from './upgrade-response.js';
import { headerList } from './upstream-attempt.js';
import { badUpstreamResponse, upstreamError } from './upstream-error.js';

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
}

export function createUpgradeForwarder(o: UpgradeForwarderOptions) {
  const upgrades = new Set<Duplex>();
  const deadlines = {
    connectTimeoutMs: o.connectTimeoutMs,
    responseHeaderTimeoutMs: o.responseHeaderTimeoutMs,
  };

  function open(target: Target, e: Endpoint, prepared: { headers: IncomingHttpHeaders; path: string }) {
    const options = {
      host: e.ip,
      port: e.port,
      method: 'GET',
      path: prepared.path,
      headers: headerList(prepared.headers) as unknown as http.OutgoingHttpHeaders,
      // Its own connection: once upgraded it belongs to this WebSocket alone.
      agent: false as const,
    };
    return target.scheme === 'https'
      ? https.request({ ...options, rejectUnauthorized: o.tls.verify, ca: o.tls.ca })
      : http.request(options);
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
    const done = once(o.picker.start(target, endpoint));
    const upstream = open(target, endpoint, prepared);
    applyUpgradeDeadlines(upstream, deadlines);
    upgrades.add(socket);
    socket.once('close', () => upgrades.delete(socket));
    return answer({ upstream, socket, head, ctx, done, rewriter: o.rewriter });
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

interface Upgrading {
  upstream: ClientRequest;
  socket: Duplex;
  /** Bytes the client sent after its request head (early frames): forwarded only after a 101. */
  head: Buffer;
  ctx: RequestContext;
  /** The balancer's outcome, once. */
  done: (outcome: Outcome) => void;
  rewriter: ResponseRewriter | undefined;
}

/**
 * Sends the upgrade request and answers the client from the backend's answer.
 * Resolves, once the client connection closes, with the status the client got
 * (101, or the relayed refusal); rejects with the error to send instead.
 */
function answer({ upstream, socket, head, ctx, done, rewriter }: Upgrading): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let status: number | undefined;
    const fail = (outcome: Outcome, err: GatewayError) => {
      if (status !== undefined) return;
      status = err.status;
      done(outcome);
      upstream.destroy();
      reject(err);
    };
    // The client left (the pipeline aborts on its 'end' or 'close') before the backend answered: the
    // upgrade never happened, so the upstream request is dropped and the pipeline logs 499, not 101.
    const leftEarly = () => fail('cancelled', ctx.signal.reason as GatewayError);
    ctx.signal.addEventListener('abort', leftEarly, { once: true });
    const answered = (code: number) => {
      ctx.signal.removeEventListener('abort', leftEarly);
      status = code;
    };
    socket.once('close', () => {
      ctx.signal.removeEventListener('abort', leftEarly);
      if (status === undefined) return fail('cancelled', ctx.signal.reason as GatewayError);
      done(status >= 500 ? 'server-error' : 'success');
      resolve(status);
    });
    upstream.on('error', (err: NodeJS.ErrnoException) =>
      fail(isConnectError(err.code) ? 'connect-error' : 'server-error', upstreamError(err)),
    );
    upstream.once('upgrade', (res: IncomingMessage, upSocket: Socket, upHead: Buffer) => {
      if (status !== undefined) return void upSocket.destroy();
      const switching = switchingHead(res, ctx, rewriter);
      if ('defect' in switching) {
        upSocket.destroy();
        return fail('server-error', badUpstreamResponse(switching.defect));
      }
      answered(101);
      splice(socket, upSocket, switching.head, head, upHead);
    });
    upstream.once('response', (res: IncomingMessage) => {
      if (status !== undefined) return void res.destroy();
      refuse(res, socket, ctx, rewriter).then(
        (code) => (code === undefined ? undefined : answered(code)),
        (err: GatewayError) => fail('server-error', err),
      );
    });
    upstream.end();
  });
}

/** Calls `f` the first time only: the balancer hears one outcome per upgrade. */
function once(f: (outcome: Outcome) => void): (outcome: Outcome) => void {
  let called = false;
  return (outcome) => {
    if (called) return;
    called = true;
    f(outcome);
  };
}

/**
 * Relays a backend's refusal of the upgrade: checked, with its body read
 * (bounded in size and time), then the connection is closed. Resolves
 * with the status the client got; rejects with the 502 to send instead.
 */
async function refuse(
  res: IncomingMessage,
  socket: Duplex,
  ctx: RequestContext,
  rewriter: ResponseRewriter | undefined,
): Promise<number | undefined> {
  const bytes = await refusalBytes(res, ctx, rewriter);
  if (socket.destroyed || socket.writableEnded) return undefined;
  socket.end(bytes.data);
  socket.destroySoon?.();
  return bytes.status;
}

/** The 101 goes to the client, then bytes flow both ways until either side closes. */
function splice(
  client: Duplex,
  upstream: Socket,
  switching: string,
  clientHead: Buffer,
  upstreamHead: Buffer,
) {
  for (const s of [client, upstream] as (Duplex & Partial<Socket>)[]) {
    s.setTimeout?.(0);
    s.setNoDelay?.(true);
    s.setKeepAlive?.(true, 0);
  }
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
  client.once('close', () => upstream.end());
  upstream.once('close', () => client.end());
  client.write(switching);
  if (upstreamHead.length) client.write(upstreamHead);
  if (clientHead.length) upstream.write(clientHead);
  upstream.pipe(client).pipe(upstream);
}
