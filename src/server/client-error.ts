/**
 * node's 'clientError': a request its parser refused (bad syntax, too slow,
 * or a head over the parser's limit). The answer is a bare status line, unless
 * a response is already on its way on that connection (a pipelined request
 * broke while the previous one streams): bytes written then would land inside
 * that response's body, so the connection is cut instead.
 *
 * A head over the parser's limit gets no answer at all: that limit is above
 * `listen.maxHeaderBytes` by the most the gateway's own cookies can take
 * (header-limit.ts judges the heads in between), so such a head is too large
 * whatever they did, and node hands over only the chunk that crossed the
 * limit — too little to tell a sign-in URL, which must never get a page of
 * ours on the gateway's origin, from any other.
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** node's own handler reads the same field: the response the socket is writing, if any. */
type ServerSocket = Socket & { _httpMessage?: ServerResponse | null };

export function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  const inProgress = (socket as ServerSocket)._httpMessage;
  if (!socket.writable || inProgress?.headersSent || err.code === 'HPE_HEADER_OVERFLOW')
    return void socket.destroy();
  const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
  // end() alone keeps the socket open for as long as the client keeps sending (slowloris).
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`, () => socket.destroy());
}
