/**
 * A client that reads nothing while the gateway has bytes for it holds its
 * connection, the upstream connection behind it and the upstream's response
 * for as long as it likes: backpressure keeps memory flat, but nothing else
 * ends it. Like nginx's `send_timeout`, a connection whose pending bytes have
 * not moved for `ms` is closed. The socket's own inactivity timer measures
 * it (any byte read or written, and a write queue that drains, restart it),
 * so a response or WebSocket that is merely quiet — nothing waiting to be
 * sent — is never cut.
 */
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/** Bytes written to `socket` that the client has not taken yet. */
const pending = (socket: Duplex | null | undefined): boolean =>
  socket !== null && socket !== undefined && (socket.writableLength > 0 || socket.writableNeedDrain);

/** For a plain response: from now until it finishes (then the keep-alive timeout takes over). */
export function cutSlowResponseReader(res: ServerResponse, ms: number): void {
  if (ms <= 0) return;
  // With a listener here node no longer destroys the connection on the timeout itself: a quiet one stays.
  res.setTimeout(ms, cutIfPending);
}

/** The response's 'timeout' listener (one function for all, not a closure per response). */
function cutIfPending(this: ServerResponse): void {
  if (this.writableLength > 0 || pending(this.socket)) this.socket?.destroy();
}

/** For an upgraded connection: for as long as it lasts. */
export function cutSlowSocketReader(socket: Duplex & { setTimeout?(ms: number): unknown }, ms: number): void {
  if (ms <= 0 || !socket.setTimeout) return;
  socket.setTimeout(ms);
  socket.on('timeout', () => {
    if (pending(socket)) socket.destroy();
  });
}
