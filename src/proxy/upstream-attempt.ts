/**
 * One attempt to send a plain HTTP request to one endpoint, on node:http's
 * pooled keep-alive connections: once the connection is up the request body
 * streams up, the response streams back, and a client that goes away cancels
 * the upstream request. A failure reports how far the request got, so the
 * forwarder knows whether it can be sent again elsewhere.
 *
 * This is the hot path, so it talks to node:http directly rather than through
 * a proxy library (WebSocket upgrades have their own, upgrade-forwarder.ts): per request
 * that saves a second copy of the headers, half a dozen listeners and an
 * options object, and the headers go out as one flat list that node writes
 * without re-validating them one setHeader() at a time.
 */
import http, { type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { BAD_RESPONSE } from './upstream-error.js';
import { leavesConnectionInDoubt } from './upstream-response.js';

export interface AttemptRequest {
  scheme: 'http' | 'https';
  ip: string;
  port: number;
  method: string;
  /** Path and query as sent upstream. */
  path: string;
  /** Flat [name, value, name, value, …] list, already sanitized, the body's framing header included. */
  headers: string[];
  /** A keep-alive pool, or (for a request whose framing an upstream might read otherwise) a one-shot agent. */
  agent: http.Agent;
  /**
   * The client's body, streamed up once connected, or a kept copy of it for a retry (undefined: the
   * request has none; it ends at once).
   */
  body: IncomingMessage | Buffer | undefined;
  /** For a new connection: the TCP connect and, for https, the TLS handshake. */
  connectTimeoutMs: number;
  responseHeaderTimeoutMs: number;
}

export interface AttemptEvents {
  /** Response headers arrived; the caller relays the response. */
  response(upstream: IncomingMessage): void;
  /** The attempt failed before a response (connect error, timeout, reset). Not called after response(). */
  failed(err: NodeJS.ErrnoException, progress: AttemptProgress): void;
}

export interface RunningAttempt {
  /**
   * Cancels the upstream request (the client went away, or its response cannot be relayed): the
   * connection is closed, never reused.
   */
  cancel(): void;
}

export function codeError(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

/** Flattens a header object into node's raw header list form (repeated names for arrays). */
export function headerList(headers: OutgoingHttpHeaders): string[] {
  const out: string[] = [];
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) out.push(name, v);
    else out.push(name, String(value));
  }
  return out;
}

/** True when a raw header list names `host` (the list form never gets one added by node). */
const hasHost = (list: readonly string[]) => list.some((v, i) => i % 2 === 0 && v.toLowerCase() === 'host');

/** How far a failed attempt got: what decides whether it may be repeated on another endpoint. */
export interface AttemptProgress {
  /** Request bytes went out on an established connection: the upstream may have read (and acted on) them. */
  requestWritten: boolean;
  /** Part of the client's body was read and sent: the client stream cannot give it again. */
  bodyStarted: boolean;
}

function openRequest(r: AttemptRequest): http.ClientRequest {
  // An HTTP/1.0 client may send no Host; HTTP/1.1 upstreams require one: name the endpoint, as Go's ReverseProxy does.
  const headers = hasHost(r.headers)
    ? r.headers
    : [...r.headers, 'host', r.ip.includes(':') ? `[${r.ip}]:${r.port}` : `${r.ip}:${r.port}`];
  return (r.scheme === 'https' ? https : http).request({
    host: r.ip,
    port: r.port,
    method: r.method,
    path: r.path,
    headers: headers as unknown as OutgoingHttpHeaders,
    agent: r.agent,
  });
}

/**
 * The connect deadline of a new connection: it runs until the TCP connect and, for TLS, until the
 * handshake is done. A backend that accepts the connection and never answers the ClientHello is as
 * unreachable as one that never accepts, and is retried elsewhere the same way (ECONNECTTIMEOUT).
 * Calls `established` once the connection is usable, `expired` when the deadline passes first.
 * Returns a function that stops the timer.
 */
export function connectDeadline(
  socket: Socket,
  tls: boolean,
  timeoutMs: number,
  on: { established(): void; expired(err: NodeJS.ErrnoException): void },
): () => void {
  // Past the TCP connect, Go's wording (the apiserver passes it on).
  const expire = () =>
    on.expired(codeError('ECONNECTTIMEOUT', socket.connecting ? 'connect timeout' : 'TLS handshake timeout'));
  const timer = setTimeout(expire, timeoutMs);
  socket.once(tls ? 'secureConnect' : 'connect', () => {
    clearTimeout(timer);
    on.established();
  });
  return () => clearTimeout(timer);
}

/**
 * Calls `ready` once the request's connection carries bytes to the upstream's application: at once
 * for a pooled connection, after the TCP connect (and TLS handshake) for a new one, which must
 * come within connectTimeout. `written()` then says whether any byte of this request left.
 * Returns a function that stops the connect timer.
 */
function awaitConnection(
  upstream: http.ClientRequest,
  r: AttemptRequest,
  on: { ready(written: () => boolean): void; timedOut(err: NodeJS.ErrnoException): void },
): () => void {
  let stop = () => {};
  upstream.once('socket', (socket: Socket) => {
    // Counted from here, before node flushes this request's head: a pooled socket carries earlier requests.
    const before = socket.bytesWritten;
    // Bytes queued while connecting never left if the connect fails; once connected, whatever the
    // socket took may have reached the upstream. A socket the peer already closed takes nothing (EPIPE).
    const ready = () => on.ready(() => socket.bytesWritten !== before);
    if (!socket.connecting) return ready();
    stop = connectDeadline(socket, r.scheme === 'https', r.connectTimeoutMs, {
      established: ready,
      expired: (err) => on.timedOut(err),
    });
  });
  return () => stop();
}

export function startAttempt(r: AttemptRequest, on: AttemptEvents): RunningAttempt {
  const upstream = openRequest(r);
  // The body stays unread until a connection takes it: a connect that is refused or times out
  // leaves it whole for the next endpoint. (A 'data' listener elsewhere must not start the flow.)
  if (r.body && !Buffer.isBuffer(r.body)) r.body.pause();
  let settled = false;
  let headerTimer: NodeJS.Timeout | undefined;
  let requestWritten = () => false;
  let bodyStarted = false;
  const stopConnectTimer = awaitConnection(upstream, r, {
    ready(written) {
      requestWritten = written;
      if (r.body && !settled) streamBody(r.body);
    },
    timedOut: (err) => fail(err),
  });
  const stop = () => {
    settled = true;
    clearTimeout(headerTimer);
    stopConnectTimer();
    upstream.destroy();
  };
  const fail = (err: NodeJS.ErrnoException) => {
    if (settled) return;
    const progress = { requestWritten: requestWritten(), bodyStarted };
    stop();
    on.failed(err, progress);
  };
  // The wait for response headers starts once the request is sent: a large upload may take
  // longer than responseHeaderTimeout (listen.requestTimeout bounds that on the client side).
  const awaitResponse = () => {
    if (settled) return;
    headerTimer = setTimeout(
      () => fail(codeError('ERESPONSETIMEOUT', 'timeout awaiting response headers')),
      r.responseHeaderTimeoutMs,
    );
  };
  const streamBody = (body: IncomingMessage | Buffer) => {
    upstream.once('finish', awaitResponse);
    if (Buffer.isBuffer(body)) {
      bodyStarted = true;
      return void upstream.end(body);
    }
    body.once('data', () => (bodyStarted = true));
    body.pipe(upstream);
  };
  upstream.on('error', fail);
  // A 101 to a request that asked for no upgrade: the connection now speaks something else.
  upstream.once('upgrade', (_res: IncomingMessage, socket: Socket) => {
    socket.destroy();
    fail(codeError(BAD_RESPONSE, '101 Switching Protocols to a request that did not ask to upgrade'));
  });
  upstream.once('response', (res: IncomingMessage) => {
    if (settled) return void res.destroy();
    settled = true;
    clearTimeout(headerTimer);
    // node closes the connection after this response instead of pooling it.
    if (leavesConnectionInDoubt(res)) upstream.shouldKeepAlive = false;
    on.response(res);
  });
  if (!r.body) {
    awaitResponse();
    upstream.end();
  }
  return { cancel: stop };
}
