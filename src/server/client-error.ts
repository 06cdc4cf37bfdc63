/**
 * node's 'clientError': a request its parser refused (bad syntax, headers too
 * large, too slow). The answer is a bare status line (for headers too large,
 * `headerOverflow`'s answer), unless a response is already on its way on that
 * connection (a pipelined request broke while the previous one streams):
 * bytes written then would land inside that response's body, so the
 * connection is cut instead.
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** node's own handler reads the same field: the response the socket is writing, if any. */
type ServerSocket = Socket & { _httpMessage?: ServerResponse | null };

export function answerClientError(
  err: NodeJS.ErrnoException & { rawPacket?: Buffer },
  socket: Socket,
  headerOverflow: (rawPacket: Buffer | undefined) => string,
): void {
  const inProgress = (socket as ServerSocket)._httpMessage;
  if (!socket.writable || inProgress?.headersSent) return void socket.destroy();
  const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
  const answer =
    err.code === 'HPE_HEADER_OVERFLOW' ? overflowAnswer(err.rawPacket, headerOverflow) : bare(status);
  // end() alone keeps the socket open for as long as the client keeps sending (slowloris).
  socket.end(answer, () => socket.destroy());
}

const bare = (status: string) => `HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`;

/** This runs in node's event handler, where nothing would catch a throw: a bare 431 then. */
function overflowAnswer(raw: Buffer | undefined, answer: (raw: Buffer | undefined) => string): string {
  try {
    return answer(raw);
  } catch {
    return bare('431 Request Header Fields Too Large');
  }
}
