/**
 * What the client of a WebSocket upgrade may be sent of the backend's answer,
 * decided from checked values only (upstream-response.ts) before http-proxy-3
 * writes any of it: the headers of a 101, or the status line and headers of a
 * refusal (status ≥ 400, a bounded body, then the connection closes).
 * Everything else a backend may answer is a 502, with the apiserver's wording
 * for a status that is neither.
 *
 * http-proxy-3 serializes `proxyRes.headers` (and, for a refusal, its
 * `statusCode` and `statusMessage`) as they are when its own listener runs;
 * upgrade-answer.ts puts these values there first.
 */
import { STATUS_CODES, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import type { RequestContext } from '../request/context.js';
import { downstreamResponseHeaders } from './headers.js';
import type { ResponseRewriter } from './relay.js';
import { headersDefect, responseHeadDefect } from './upstream-response.js';

/** A refusal's body is an error message: more than this is not one. */
export const REFUSAL_BODY_LIMIT = 64 * 1024;
/** How long a refusal's body may take at most (the apiserver's deadline for writing one). */
export const REFUSAL_BODY_TIMEOUT_MS = 10_000;

export type Checked<T> = T | { defect: string };

/** The response headers a client may get: hop-by-hop and framing dropped, path-form rewriting applied. */
function clientHeaders(
  res: IncomingMessage,
  status: number,
  ctx: RequestContext,
  rewriter: ResponseRewriter | undefined,
): OutgoingHttpHeaders {
  const pathForm = ctx.via === 'path';
  let headers = downstreamResponseHeaders(res.headers, pathForm);
  if (rewriter) headers = rewriter.headers(headers, ctx, status);
  delete headers['content-length'];
  delete headers['transfer-encoding'];
  return headers;
}

/** The headers of the 101 for the client (after http-proxy-3's own status line), or why it cannot be relayed. */
export function switchingHeaders(
  res: IncomingMessage,
  ctx: RequestContext,
  rewriter: ResponseRewriter | undefined,
): Checked<{ headers: OutgoingHttpHeaders }> {
  if (res.statusCode !== 101) return { defect: `status code ${String(res.statusCode)}` };
  if (String(res.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
    return { defect: 'a switch to another protocol than WebSocket' };
  }
  try {
    const headers = clientHeaders(res, 101, ctx, rewriter);
    const defect = headersDefect(res.headers) ?? headersDefect(headers);
    if (defect) return { defect };
    return { headers: { ...headers, connection: 'Upgrade', upgrade: 'websocket' } };
  } catch {
    return { defect: 'its headers could not be relayed' };
  }
}

export interface RefusalHead {
  status: number;
  /** The standard reason phrase for the status: the backend's own is not passed on. */
  statusMessage: string;
  /** Checked and rewritten; `Connection: close`; the backend's Content-Length when it announced one. */
  headers: OutgoingHttpHeaders;
}

/**
 * The head of a refusal for the client, or why the backend's answer is not
 * one that may be relayed (a 502 instead). A body announced larger than
 * REFUSAL_BODY_LIMIT is refused here; one without a length is bounded while
 * it streams (upgrade-answer.ts).
 */
export function refusalHead(
  res: IncomingMessage,
  ctx: RequestContext,
  rewriter: ResponseRewriter | undefined,
): Checked<RefusalHead> {
  const defect = responseHeadDefect(res);
  if (defect) return { defect };
  const status = res.statusCode!;
  // The apiserver's rule: a backend that neither switches nor refuses is not answering the upgrade.
  if (status < 400) return { defect: `invalid upgrade response: status code ${status}` };
  const length = res.headers['content-length'];
  if (length !== undefined && !/^\d{1,15}$/.test(length)) return { defect: 'invalid Content-Length' };
  if (length !== undefined && Number(length) > REFUSAL_BODY_LIMIT) {
    return { defect: 'the refusal’s body is too large' };
  }
  let headers: OutgoingHttpHeaders;
  try {
    headers = clientHeaders(res, status, ctx, rewriter);
  } catch {
    return { defect: 'its headers could not be relayed' };
  }
  const headersBad = headersDefect(headers);
  if (headersBad) return { defect: headersBad };
  // Without a length http-proxy-3 frames the body itself (chunked, or up to the close for HTTP/1.0).
  if (length !== undefined) headers['content-length'] = length;
  headers.connection = 'close';
  return { status, statusMessage: STATUS_CODES[status] ?? 'Error', headers };
}
