/**
 * One attempt to send a plain HTTP request to one endpoint, on node:http's
 * pooled keep-alive connections: the request body streams up, the response
 * streams back, and a client that goes away cancels the upstream request.
 *
 * This is the hot path, so it talks to node:http directly rather than through
 * http-proxy-3 (which the forwarder keeps for WebSocket upgrades): per request
 * that saves a second copy of the headers, half a dozen listeners and an
 * options object, and the headers go out as one flat list that node writes
 * without re-validating them one setHeader() at a time.
 */
import http, { type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';

export interface AttemptRequest {
  scheme: 'http' | 'https';
  ip: string;
  port: number;
  method: string;
  /** Path and query as sent upstream. */
  path: string;
  /** Flat [name, value, name, value, …] list, already sanitized. */
  headers: string[];
  agent: http.Agent;
  /** Stream the client's body up (false: the request has none; the upstream request ends at once). */
  body: IncomingMessage | undefined;
  connectTimeoutMs: number;
  responseHeaderTimeoutMs: number;
}

export interface AttemptEvents {
  /** Response headers arrived; the caller relays the response. */
  response(upstream: IncomingMessage): void;
  /** The attempt failed before a response (connect error, timeout, reset). Not called after response(). */
  error(err: NodeJS.ErrnoException): void;
}

export interface RunningAttempt {
  /** Cancels the upstream request (the client went away). */
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

export function startAttempt(r: AttemptRequest, on: AttemptEvents): RunningAttempt {
  // An HTTP/1.0 client may send no Host; HTTP/1.1 upstreams require one: name the endpoint, as Go's ReverseProxy does.
  const headers = hasHost(r.headers)
    ? r.headers
    : [...r.headers, 'host', r.ip.includes(':') ? `[${r.ip}]:${r.port}` : `${r.ip}:${r.port}`];
  const upstream = (r.scheme === 'https' ? https : http).request({
    host: r.ip,
    port: r.port,
    method: r.method,
    path: r.path,
    headers: headers as unknown as OutgoingHttpHeaders,
    agent: r.agent,
  });
  let settled = false;
  let connectTimer: NodeJS.Timeout | undefined;
  let headerTimer: NodeJS.Timeout | undefined;
  const fail = (err: NodeJS.ErrnoException) => {
    if (settled) return;
    settled = true;
    clearTimeout(headerTimer);
    clearTimeout(connectTimer);
    upstream.destroy();
    on.error(err);
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
  upstream.once('socket', (socket: Socket) => {
    if (!socket.connecting) return;
    connectTimer = setTimeout(
      () => fail(codeError('ECONNECTTIMEOUT', 'connect timeout')),
      r.connectTimeoutMs,
    );
    socket.once('connect', () => clearTimeout(connectTimer));
  });
  upstream.on('error', fail);
  upstream.once('response', (res: IncomingMessage) => {
    if (settled) return void res.destroy();
    settled = true;
    clearTimeout(headerTimer);
    on.response(res);
  });
  if (r.body) {
    upstream.once('finish', awaitResponse);
    r.body.pipe(upstream);
  } else {
    awaitResponse();
    upstream.end();
  }
  return {
    cancel() {
      settled = true;
      clearTimeout(headerTimer);
      clearTimeout(connectTimer);
      upstream.destroy();
    },
  };
}
