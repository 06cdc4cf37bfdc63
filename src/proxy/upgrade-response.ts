/**
 * What the client of a WebSocket upgrade gets from the backend's answer, built
 * from checked values only (upstream-response.ts): the 101's head, or the
 * bytes of a refusal (status ≥ 400, body read whole and bounded, then the
 * connection closes). Everything else a backend may answer is a 502, with the
 * apiserver's wording for a status that is neither.
 */
import { STATUS_CODES, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import type { GatewayError } from '../errors.js';
import type { RequestContext } from '../server/request-context.js';
import { downstreamResponseHeaders } from './headers.js';
import type { ResponseRewriter } from './relay.js';
import { badUpstreamResponse } from './upstream-error.js';
import { headersDefect, responseHeadDefect } from './upstream-response.js';

/** A refusal's body is an error message: more than this is not one. */
const REFUSAL_BODY_LIMIT = 64 * 1024;
/** How long a refusal's body may take (the apiserver's deadline for writing one). */
const REFUSAL_BODY_TIMEOUT_MS = 10_000;

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

function serialize(statusLine: string, headers: OutgoingHttpHeaders): string {
  let head = `${statusLine}\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) head += `${name}: ${v}\r\n`;
  }
  return `${head}\r\n`;
}

/** The head of the 101 for the client, or why the backend's 101 cannot be relayed. */
export function switchingHead(
  res: IncomingMessage,
  ctx: RequestContext,
  rewriter: ResponseRewriter | undefined,
): { head: string } | { defect: string } {
  if (res.statusCode !== 101) return { defect: `status code ${String(res.statusCode)}` };
  if (String(res.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
    return { defect: 'a switch to another protocol than WebSocket' };
  }
  try {
    const headers = clientHeaders(res, 101, ctx, rewriter);
    const defect = headersDefect(res.headers) ?? headersDefect(headers);
    if (defect) return { defect };
    return {
      head: serialize('HTTP/1.1 101 Switching Protocols', {
        ...headers,
        connection: 'Upgrade',
        upgrade: 'websocket',
      }),
    };
  } catch {
    return { defect: 'its headers could not be relayed' };
  }
}

/**
 * The bytes of a refusal for the client (status, checked headers, the body
 * with its length, `Connection: close`); rejects with the 502 to send instead.
 */
export async function refusalBytes(
  res: IncomingMessage,
  ctx: RequestContext,
  rewriter: ResponseRewriter | undefined,
): Promise<{ status: number; data: Buffer }> {
  const defect = responseHeadDefect(res);
  if (defect) throw badUpstreamResponse(defect);
  const status = res.statusCode!;
  // The apiserver's rule: a backend that neither switches nor refuses is not answering the upgrade.
  if (status < 400) throw badUpstreamResponse(`invalid upgrade response: status code ${status}`);
  let headers: OutgoingHttpHeaders;
  try {
    headers = clientHeaders(res, status, ctx, rewriter);
  } catch {
    throw badUpstreamResponse('its headers could not be relayed');
  }
  const headersBad = headersDefect(headers);
  if (headersBad) throw badUpstreamResponse(headersBad);
  const body = await readBounded(res);
  const head = serialize(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`, {
    ...headers,
    'content-length': String(body.length),
    connection: 'close',
  });
  return { status, data: Buffer.concat([Buffer.from(head, 'latin1'), body]) };
}

/** The whole body, or a 502 when it is too large, too slow, or broken. */
function readBounded(res: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const give = (err: GatewayError) => {
      clearTimeout(timer);
      res.destroy();
      reject(err);
    };
    const timer = setTimeout(
      () => give(badUpstreamResponse('the refusal’s body did not arrive')),
      REFUSAL_BODY_TIMEOUT_MS,
    );
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > REFUSAL_BODY_LIMIT) return give(badUpstreamResponse('the refusal’s body is too large'));
      chunks.push(chunk);
    });
    res.once('error', () => give(badUpstreamResponse('the refusal’s body broke off')));
    res.once('aborted', () => give(badUpstreamResponse('the refusal’s body broke off')));
    res.once('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
  });
}
