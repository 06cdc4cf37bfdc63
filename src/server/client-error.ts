/**
 * node's 'clientError': a request its parser refused (bad syntax, headers too
 * large, too slow). The answer is a bare status line, unless a response is
 * already on its way on that connection (a pipelined request broke while the
 * previous one streams): bytes written then would land inside that response's
 * body, so the connection is cut instead.
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** node's own handler reads the same field: the response the socket is writing, if any. */
type ServerSocket = Socket & { _httpMessage?: ServerResponse | null };

export function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  const inProgress = (socket as ServerSocket)._httpMessage;
  if (!socket.writable || inProgress?.headersSent) return void socket.destroy();
  const status =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? '431 Request Header Fields Too Large'
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? '408 Request Timeout'
        : '400 Bad Request';
  // end() alone keeps the socket open for as long as the client keeps sending (slowloris).
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`, () => socket.destroy());
}
