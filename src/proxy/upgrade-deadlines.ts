/**
 * Deadlines for the upstream request of a WebSocket upgrade: without them a
 * backend that accepts the TCP connection and never answers would hold the
 * client for ever. The limits and error codes are those of plain requests
 * (upstream-attempt.ts), so the client gets the same 504 Status.
 */
import type { ClientRequest } from 'node:http';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { codeError, connectDeadline } from './upstream-attempt.js';

export interface UpgradeDeadlines {
  connectTimeoutMs: number;
  /** From sending the upgrade request to the backend's answer (101 or any other status). */
  responseHeaderTimeoutMs: number;
}

/**
 * Destroys `upstream` with ECONNECTTIMEOUT or ERESPONSETIMEOUT when a deadline
 * passes; the request's 'error' event then reports it to the upgrade forwarder.
 */
export function applyUpgradeDeadlines(upstream: ClientRequest, limits: UpgradeDeadlines): void {
  let stopConnectTimer = () => {};
  // The upgrade request has no body: it is sent as soon as the connection is up, so the
  // wait for an answer starts now, as for a body-less plain request.
  const headerTimer = setTimeout(
    () => upstream.destroy(codeError('ERESPONSETIMEOUT', 'timeout awaiting response headers')),
    limits.responseHeaderTimeoutMs,
  );
  const clear = () => {
    stopConnectTimer();
    clearTimeout(headerTimer);
  };
  upstream.once('socket', (socket: Socket) => {
    if (!socket.connecting) return;
    // A wss backend's TLS handshake is part of the connect, as for plain requests.
    stopConnectTimer = connectDeadline(socket, socket instanceof TLSSocket, limits.connectTimeoutMs, {
      established: () => undefined,
      expired: (err) => upstream.destroy(err),
    });
  });
  upstream.once('upgrade', clear);
  upstream.once('response', clear);
  upstream.once('close', clear);
}
