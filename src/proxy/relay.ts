/**
 * The response half of a proxied request: the upstream's status and headers
 * shaped for the client (hop-by-hop and, for the path form, CORS headers
 * dropped; Location, Set-Cookie and HTML links rewritten), the body streamed
 * through, and the outcome for the balancer once the client response closes.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { RequestContext } from '../server/request-context.js';
import type { Outcome } from './forward.js';
import { downstreamResponseHeaders } from './headers.js';

/** Guards and rewrites responses (Set-Cookie, origin-wide headers; Location and HTML in the path form). */
export interface ResponseRewriter {
  headers(headers: OutgoingHttpHeaders, ctx: RequestContext, statusCode: number): OutgoingHttpHeaders;
  body(upstream: IncomingMessage, ctx: RequestContext): NodeJS.ReadableStream;
}

/** Relays an upstream response to the client; reports the outcome when the client response closes. */
export function relay(
  upstream: IncomingMessage,
  res: ServerResponse,
  ctx: RequestContext,
  rewriter: ResponseRewriter | undefined,
  done: (outcome: Outcome) => void,
): void {
  const status = upstream.statusCode ?? 502;
  const outcome: Outcome = status >= 500 ? 'server-error' : 'success';
  const pathForm = ctx.via === 'path';
  let headers = downstreamResponseHeaders(upstream.headers, pathForm);
  let body: NodeJS.ReadableStream = upstream;
  // Every form: upstream cookies and origin-wide headers are guarded; the path form is also rewritten.
  if (rewriter) {
    headers = rewriter.headers(headers, ctx, status);
    body = rewriter.body(upstream, ctx);
  }
  res.writeHead(status, upstream.statusMessage, headers);
  body.on('data', (chunk: Buffer) => (ctx.bytes += chunk.length));
  // A failing body (upstream reset, corrupt gzip) can only end the connection: headers are out.
  body.on('error', () => res.destroy());
  if (body !== upstream) upstream.on('error', () => res.destroy());
  // An upstream connection that dies mid-body may end the stream without an error:
  // without this the client would wait forever for the rest.
  upstream.once('close', () => {
    if (!upstream.complete) res.destroy();
  });
  body.pipe(res);
  res.once('close', () => {
    if (!res.writableFinished) {
      upstream.destroy();
      if (body !== upstream) (body as NodeJS.ReadableStream & { destroy(): void }).destroy();
    }
    done(res.writableFinished ? outcome : 'cancelled');
  });
}
