/**
 * How a request body is delimited on its way upstream, decided once from what
 * the client's parser (llhttp) already checked: exactly one of Content-Length
 * or `Transfer-Encoding: chunked`, never both, no other transfer coding.
 *
 * The framing is never left to the client's headers or to node's defaults:
 * node's client adds no framing for GET, HEAD, DELETE and OPTIONS, so a body
 * the client framed with `Transfer-Encoding` (hop-by-hop, dropped) or with a
 * Content-Length it named in `Connection` would go raw onto a pooled
 * keep-alive connection — where the upstream reads it as a request of its own
 * (issue 11 §1: forged identity headers, and responses crossing to other
 * users). So the forwarder writes the framing header itself, and
 * `reuse: false` keeps a connection whose framing an upstream might read
 * differently out of the pool.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { badRequest } from '../errors.js';

export type RequestFraming =
  | { body: 'none'; reuse: boolean }
  | { body: 'length'; length: number; reuse: boolean }
  | { body: 'chunked'; reuse: boolean };

/**
 * RFC 9110 §9.3: content in these requests has no generally defined meaning,
 * and some servers never read it (they would take it for the next request).
 * Such a body is forwarded, framed, on a connection used for nothing else.
 */
const BODY_WITHOUT_MEANING = new Set(['GET', 'DELETE', 'OPTIONS']);

/** Methods that are expected to carry content: without any, they say so (`Content-Length: 0`), as Go does. */
const BODY_EXPECTED = new Set(['POST', 'PUT', 'PATCH']);

/** True when bytes follow the request head. */
export const carriesBody = (f: RequestFraming): boolean =>
  f.body === 'chunked' || (f.body === 'length' && f.length > 0);

/**
 * The framing for the upstream request, or a 400 for a body the gateway will
 * not forward: a HEAD with content (its response has none, and no proxy can
 * say what an upstream makes of it), or a transfer coding other than chunked.
 */
export function requestFraming(method: string, headers: IncomingHttpHeaders): RequestFraming {
  const framing = bodyFraming(headers);
  if (!carriesBody(framing)) {
    // A response to HEAD declares a length without a body: one that sends a body anyway would
    // leave it on the connection for the next request. Such a connection is not reused.
    return { ...framing, reuse: method !== 'HEAD' };
  }
  if (method === 'HEAD') throw badRequest('a HEAD request cannot carry a body');
  return { ...framing, reuse: !BODY_WITHOUT_MEANING.has(method) };
}

function bodyFraming(headers: IncomingHttpHeaders): RequestFraming {
  const te = headers['transfer-encoding'];
  if (te !== undefined) {
    // llhttp read the body as chunked; a coding before it (`gzip, chunked`) would be lost on the way.
    if (String(te).trim().toLowerCase() !== 'chunked') {
      throw badRequest(`unsupported transfer encoding: ${JSON.stringify(String(te).slice(0, 64))}`);
    }
    return { body: 'chunked', reuse: true };
  }
  const cl = headers['content-length'];
  if (cl === undefined) return { body: 'none', reuse: true };
  // llhttp accepted it, so it is digits.
  const length = Number(cl);
  if (!Number.isSafeInteger(length) || length < 0) throw badRequest('invalid Content-Length');
  return { body: 'length', length, reuse: true };
}

/** The header that announces the body upstream, in node's flat header-list form. */
export function framingHeader(f: RequestFraming, method: string): string[] {
  if (f.body === 'length') return ['content-length', String(f.length)];
  if (f.body === 'chunked') return ['transfer-encoding', 'chunked'];
  return BODY_EXPECTED.has(method) ? ['content-length', '0'] : [];
}
