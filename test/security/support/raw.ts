/**
 * Bytes on a bare TCP socket, for what no HTTP client will send: control
 * bytes in the request line, CRLF in headers, duplicate Content-Length,
 * Content-Length with Transfer-Encoding, HTTP/1.0 without Host.
 */
import { connect } from 'node:net';

export interface RawReply {
  /** Everything the server sent before closing (or before `idleMs` of silence once it had begun to answer). */
  text: string;
  /** Status of the first response; 0 when none came. */
  status: number;
  /** How many HTTP responses (status lines) came back on the connection. */
  responses: number;
  /** True when the server closed the connection. */
  closed: boolean;
  /** Headers and body of the first response. */
  headers: Record<string, string>;
  body: string;
}

export function rawRequest(base: string, bytes: string | Buffer, idleMs = 400): Promise<RawReply> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(u.port), u.hostname);
    const chunks: Buffer[] = [];
    let closed = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(parseRaw(Buffer.concat(chunks).toString('latin1'), closed));
    };
    const idle = () => {
      clearTimeout(timer);
      timer = setTimeout(finish, idleMs);
    };
    // The silence that ends the read is counted from the first byte of the answer: a loaded
    // machine may take longer than idleMs to begin answering, never to go on once it has.
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      idle();
    });
    socket.on('end', () => {
      closed = true;
      finish();
    });
    socket.on('close', () => {
      closed = true;
      finish();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET') {
        closed = true;
        finish();
      } else reject(err);
    });
  });
}

export function parseRaw(text: string, closed: boolean): RawReply {
  const statusLines = text.match(/^HTTP\/1\.[01] \d{3}/gm) ?? [];
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  const end = text.indexOf('\r\n\r\n');
  const headers: Record<string, string> = {};
  for (const line of text
    .slice(0, end === -1 ? text.length : end)
    .split('\r\n')
    .slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  const bodyStart = end === -1 ? text.length : end + 4;
  const length = Number(headers['content-length'] ?? NaN);
  const body = /\bchunked\b/i.test(headers['transfer-encoding'] ?? '')
    ? dechunk(text.slice(bodyStart))
    : Number.isNaN(length)
      ? text.slice(bodyStart)
      : text.slice(bodyStart, bodyStart + length);
  return {
    text,
    status: m ? Number(m[1]) : 0,
    responses: statusLines.length,
    closed,
    headers,
    body,
  };
}

/** The payload of a chunked body (trailers ignored); stops at the last chunk or where the bytes end. */
function dechunk(text: string): string {
  let out = '';
  let at = 0;
  for (;;) {
    const eol = text.indexOf('\r\n', at);
    if (eol === -1) return out;
    const size = parseInt(text.slice(at, eol), 16);
    if (!(size > 0)) return out;
    out += text.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
}
