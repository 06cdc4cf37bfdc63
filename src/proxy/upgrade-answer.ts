/**
 * One upgrade's upstream request, from the moment http-proxy-3 creates it
 * ('proxyReqWs') to the end of the client connection.
 *
 * http-proxy-3 emits 'proxyReqWs' before it attaches its own 'upgrade',
 * 'response' and 'error' listeners to the request, so the listeners attached
 * here run first, every time:
 * - a 101 is checked (upgrade-response.ts) and `proxyRes.headers` replaced by
 *   the checked, cookie-guarded set; http-proxy-3 then writes the status line,
 *   those headers, and splices the two sockets;
 * - a refusal is checked the same way and its status line and headers
 *   replaced; http-proxy-3 relays it (framing the body itself) and closes.
 *   Its body is bounded here, in size and time, by cutting both connections;
 * - anything unusable is answered here, with a 502, and both sockets are
 *   destroyed before http-proxy-3's listener runs: it finds the client socket
 *   destroyed and writes nothing (for a refusal it checks; for a 101 its
 *   writes to a destroyed socket are dropped);
 * - an error before the answer (connect failure, deadline) is answered here,
 *   at once: http-proxy-3 ends the client socket right after its listener.
 */
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { GatewayError } from '../errors.js';
import type { RequestContext } from '../request/context.js';
import { outcomeForStatus } from './balancer/outlier.js';
import { isConnectError } from './balancer/retry.js';
import type { Outcome } from './forward.js';
import type { ResponseRewriter } from './relay.js';
import { cutSlowSocketReader } from './slow-reader.js';
import { applyUpgradeDeadlines, type UpgradeDeadlines } from './upgrade-deadlines.js';
import { REFUSAL_BODY_LIMIT, refusalHead, switchingHeaders } from './upgrade-response.js';
import { badUpstreamResponse, upstreamError } from './upstream-error.js';

export interface Upgrading {
  ctx: RequestContext;
  /** The client connection. */
  socket: Duplex;
  /** The balancer's outcome, once. */
  done: (outcome: Outcome) => void;
  rewriter: ResponseRewriter | undefined;
  deadlines: UpgradeDeadlines & { refusalBodyTimeoutMs: number; sendTimeoutMs: number };
  /** Writes the gateway's error answer on the client socket, now (the server's format). */
  answer(err: GatewayError): void;
  /** Settles the forwarder's promise: the status the client got, once the connection is over. */
  resolve(status: number): void;
  /** Settles it with the error the client got (already answered here) or, when it left, its reason. */
  reject(err: GatewayError): void;
}

/** Attaches the checks to `upstream`; must run before http-proxy-3 attaches its own listeners. */
export function watchUpgrade(upstream: ClientRequest, u: Upgrading): void {
  const { ctx, socket } = u;
  let status: number | undefined;
  const settle = (outcome: Outcome, err: GatewayError) => {
    status = err.status;
    u.done(outcome);
    upstream.destroy();
    u.reject(err);
  };
  /** The backend's answer cannot be relayed: the client gets a 502 now, and both connections end. */
  const unusable = (defect: string, upstreamSide: { destroy(): void }) => {
    const err = badUpstreamResponse(defect);
    upstreamSide.destroy();
    u.answer(err);
    socket.destroy();
    settle('server-error', err);
  };
  // The client left (the pipeline aborts on its 'end' or 'close') before the backend answered: the
  // upgrade never happened, so the upstream request is dropped and the pipeline logs 499, not 101.
  const leftEarly = () => {
    if (status === undefined) settle('cancelled', ctx.signal.reason as GatewayError);
  };
  ctx.signal.addEventListener('abort', leftEarly, { once: true });
  socket.once('close', () => {
    ctx.signal.removeEventListener('abort', leftEarly);
    if (status === undefined) return leftEarly();
    u.done(outcomeForStatus(status));
    u.resolve(status);
  });

  applyUpgradeDeadlines(upstream, u.deadlines);
  upstream.on('error', (err: NodeJS.ErrnoException) => {
    if (status !== undefined) return;
    const answer = upstreamError(err);
    u.answer(answer);
    settle(isConnectError(err.code) ? 'connect-error' : 'server-error', answer);
  });
  upstream.once('upgrade', (res: IncomingMessage, upSocket: Socket) => {
    if (status !== undefined) return void upSocket.destroy();
    const switching = switchingHeaders(res, ctx, u.rewriter);
    if ('defect' in switching) return unusable(switching.defect, upSocket);
    res.headers = switching.headers as IncomingMessage['headers'];
    status = 101;
    ctx.signal.removeEventListener('abort', leftEarly);
    // http-proxy-3 only ends the backend's socket when the client's errs or closes: a backend that
    // never closes its side would hold it for ever.
    socket.once('close', () => upSocket.destroy());
    // http-proxy-3 switched the client socket's timer off; a client that stops reading is still cut.
    cutSlowSocketReader(socket, u.deadlines.sendTimeoutMs);
  });
  upstream.once('response', (res: IncomingMessage) => {
    if (status !== undefined) return void res.destroy();
    const head = refusalHead(res, ctx, u.rewriter);
    if ('defect' in head) return unusable(head.defect, res);
    res.headers = head.headers as IncomingMessage['headers'];
    res.statusMessage = head.statusMessage;
    status = head.status;
    ctx.signal.removeEventListener('abort', leftEarly);
    boundRefusal(res, socket, u.deadlines.refusalBodyTimeoutMs);
    socket.once('close', () => upstream.destroy());
  });
}

/**
 * A refusal's body streams through http-proxy-3 once its head is out: one
 * that grows past REFUSAL_BODY_LIMIT, breaks off, or takes longer than
 * `timeoutMs` can no longer become a 502, so both connections are cut (the
 * client sees the refusal's status, and a body that does not complete).
 */
function boundRefusal(res: IncomingMessage, socket: Duplex, timeoutMs: number): void {
  let size = 0;
  const cut = () => {
    clearTimeout(timer);
    res.destroy();
    socket.destroy();
  };
  const timer = setTimeout(cut, timeoutMs);
  res.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > REFUSAL_BODY_LIMIT) cut();
  });
  res.once('aborted', cut);
  res.once('error', cut);
  res.once('end', () => clearTimeout(timer));
  socket.once('close', () => clearTimeout(timer));
}
