/**
 * `listen.maxHeaderBytes`, enforced by the gateway on the whole parsed head
 * rather than by Node's parser. When Node's parser gives up it hands over only
 * the chunk that crossed its limit (err.rawPacket): over TLS, whose records
 * hold 16 KB, that is never the chunk with the request line, so the gateway
 * could not tell a sign-in URL (which must not get a page: see
 * authn/session/oversized-request.ts) from any other, nor count the bytes of
 * its own cookies. So Node's limit is higher by the most our cookies can take,
 * and a head between the two limits is judged here, whole. A head over Node's
 * limit is too large whatever our cookies did, and nothing of it can be trusted
 * (a later chunk can be made to start like a request line): client-error.ts
 * closes its connection without an answer.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  MAX_HEADER_LINES,
  OUR_COOKIES_MAX_BYTES,
  type OversizedHead,
} from '../authn/session/oversized-request.js';

/** The limit Node's parser enforces (`maxHeaderSize`): ours plus what our own cookies can add. */
export const parserHeaderLimit = (maxHeaderBytes: number): number => maxHeaderBytes + OUR_COOKIES_MAX_BYTES;

/** The head as the answer to a too-large request reads it; undefined when it is within the limits. */
function measure(req: IncomingMessage, maxHeaderBytes: number): OversizedHead | undefined {
  const raw = req.rawHeaders;
  // What Node counts against its limit: the target and every header name and value (no separators).
  let bytes = req.url?.length ?? 0;
  for (const part of raw) bytes += part.length;
  if (bytes < maxHeaderBytes && raw.length / 2 <= MAX_HEADER_LINES) return undefined;
  const cookies: string[] = [];
  let html = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (name === 'cookie') cookies.push(raw[i + 1]);
    else if (name === 'accept' && raw[i + 1].includes('text/html')) html = true;
  }
  return { target: req.url, bytes, cookie: cookies.join('; '), html };
}

/**
 * A check to run on every request and upgrade before anything else: when the head is too large (Node
 * refuses at its limit, so the same `>=` here), it answers on the socket — or closes it without an
 * answer — and returns true.
 */
export function createHeaderLimit(
  maxHeaderBytes: number,
  answer: (head: OversizedHead) => string | undefined,
): (req: IncomingMessage, socket: Duplex) => boolean {
  return (req, socket) => {
    const head = measure(req, maxHeaderBytes);
    if (!head) return false;
    let raw: string | undefined;
    try {
      raw = answer(head);
    } catch {
      raw = undefined; // a bug here ends this connection, never the process (this runs in node's event handler)
    }
    // end() alone keeps the socket open for as long as the client keeps sending.
    if (raw === undefined) socket.destroy();
    else socket.end(raw, () => socket.destroy());
    return true;
  };
}
