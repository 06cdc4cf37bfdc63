/**
 * An upstream that answers with whatever bytes a test scripts, on a bare TCP
 * socket: what no HTTP server library would send (status `000`, a DEL in the
 * reason phrase, a 101 nobody asked for, Content-Length with
 * Transfer-Encoding). It reads the gateway's requests with a small strict
 * parser, records each (and on which connection it came), answers by path,
 * and keeps the connection open afterwards, so a test can see whether the
 * gateway closed it.
 */
import net, { type AddressInfo, type Socket } from 'node:net';

export interface ReceivedRequest {
  method: string;
  path: string;
  /** The request head as received. */
  head: string;
  body: Buffer;
  /** Which connection carried it (counted from 1). */
  connection: number;
}

/** Bytes to answer with; a function gets the request. `end` closes the connection after writing. */
export type Answer = string | Buffer | ((r: ReceivedRequest) => string | Buffer);

export interface HostileUpstream {
  host: string;
  port: number;
  requests: ReceivedRequest[];
  /**
   * Scripts the answer to requests for `path` (the path without the query is matched first).
   * `end` closes the connection after it; `then` is written a moment later, as a separate packet.
   */
  on(path: string, answer: Answer, opts?: { end?: boolean; then?: string }): void;
  /** True once the gateway (or the server) closed connection `n`. */
  closed(n: number): boolean;
  /** Connections holding part of a request (its head or body still arriving), with what came so far. */
  partial(): { connection: number; bytes: string }[];
  /** The request for `path` most recently received. */
  last(path: string): ReceivedRequest | undefined;
  close(): Promise<void>;
}

/** A plain, valid answer: what every unscripted path gets. */
export const OK = (body = 'ok') =>
  `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`;

interface Parsed {
  request: Omit<ReceivedRequest, 'connection'>;
  rest: Buffer;
}

/** One request from the front of `buf`, or undefined when more bytes are needed. Throws on garbage. */
function parseRequest(buf: Buffer): Parsed | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end === -1) return undefined;
  const head = buf.subarray(0, end).toString('latin1');
  const [line, ...fields] = head.split('\r\n');
  const [method, path] = line.split(' ');
  const header = (name: string) =>
    fields
      .find((f) => f.toLowerCase().startsWith(`${name}:`))
      ?.slice(name.length + 1)
      .trim();
  let at = end + 4;
  const chunks: Buffer[] = [];
  if (/chunked/i.test(header('transfer-encoding') ?? '')) {
    for (;;) {
      const eol = buf.indexOf('\r\n', at);
      if (eol === -1) return undefined;
      const size = parseInt(buf.subarray(at, eol).toString('latin1'), 16);
      if (Number.isNaN(size)) throw new Error('bad chunk size');
      if (size === 0) {
        const trailerEnd = buf.indexOf('\r\n\r\n', eol);
        if (buf.subarray(eol, eol + 4).toString() === '\r\n\r\n') at = eol + 4;
        else if (trailerEnd === -1) return undefined;
        else at = trailerEnd + 4;
        break;
      }
      if (buf.length < eol + 2 + size + 2) return undefined;
      chunks.push(buf.subarray(eol + 2, eol + 2 + size));
      at = eol + 2 + size + 2;
    }
  } else {
    const length = Number(header('content-length') ?? 0);
    if (buf.length < at + length) return undefined;
    chunks.push(buf.subarray(at, at + length));
    at += length;
  }
  return { request: { method, path, head, body: Buffer.concat(chunks) }, rest: buf.subarray(at) };
}

export async function startHostileUpstream(host = '127.0.0.6'): Promise<HostileUpstream> {
  const scripts = new Map<string, { answer: Answer; end: boolean; then?: string }>();
  const requests: ReceivedRequest[] = [];
  const open = new Map<number, Socket>();
  const closedConnections = new Set<number>();
  const buffered = new Map<number, Buffer>();
  let connections = 0;

  const answerFor = (r: ReceivedRequest) => {
    const s = scripts.get(r.path) ?? scripts.get(r.path.split('?')[0]);
    const answer = s?.answer ?? OK();
    return { bytes: typeof answer === 'function' ? answer(r) : answer, end: s?.end ?? false, then: s?.then };
  };

  const server = net.createServer((socket) => {
    const n = ++connections;
    open.set(n, socket);
    let buf: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        let parsed: Parsed | undefined;
        try {
          parsed = parseRequest(buf);
        } catch {
          return void socket.destroy();
        }
        buffered.set(n, buf);
        if (!parsed) return;
        buf = parsed.rest;
        buffered.set(n, buf);
        const request = { ...parsed.request, connection: n };
        requests.push(request);
        const { bytes, end, then } = answerFor(request);
        const raw = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes;
        if (end) socket.end(raw);
        else socket.write(raw);
        // The late part of an answer: after the gateway has read the first one on its own.
        if (then !== undefined)
          setTimeout(() => socket.writable && socket.write(Buffer.from(then, 'latin1')), 20).unref();
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      open.delete(n);
      closedConnections.add(n);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    host,
    port: (server.address() as AddressInfo).port,
    requests,
    on: (path, answer, opts = {}) =>
      void scripts.set(path, { answer, end: opts.end ?? false, then: opts.then }),
    closed: (n) => closedConnections.has(n),
    partial: () =>
      [...buffered]
        .filter(([n, b]) => b.length > 0 && !closedConnections.has(n))
        .map(([connection, b]) => ({ connection, bytes: b.toString('latin1') })),
    last: (path) => requests.findLast((r) => r.path === path),
    async close() {
      for (const s of open.values()) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
