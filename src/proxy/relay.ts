/**
 * The response half of a proxied request: the upstream's status and headers
 * checked (upstream-response.ts) and shaped for the client (hop-by-hop and,
 * for the path form, CORS headers dropped; Location, Set-Cookie and HTML links
 * rewritten), the body streamed through, and the outcome for the balancer
 * once the client response closes.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { GatewayError } from '../errors.js';
import { outcomeForStatus, type Outcome } from './balancer/outlier.js';
import { downstreamResponseHeaders } from './headers.js';
import type { RewriteRequest } from './rewrite/index.js';
import { badUpstreamResponse } from './upstream-error.js';
import type { BodySink } from './upstream-message.js';
import { headersDefect, responseHeadDefect } from './upstream-response.js';

/** What the relay and the rewriter read of the request (rewrite/response-rewriter.ts's RewriteRequest). */
export type RelayRequest = RewriteRequest;

/** An upstream response as the relay reads it: node's IncomingMessage, or undici's shaped like it (upstream-message.ts). */
export type UpstreamMessage = Readable & {
  statusCode?: number;
  statusMessage?: string;
  headers: IncomingHttpHeaders;
  complete: boolean;
  /** undici's (upstream-message.ts): the body straight to a sink, without the stream; false when too late. */
  deliverTo?(sink: BodySink): boolean;
  /** After a sink paused the upstream: it takes more. */
  more?(): void;
};

/** Guards and rewrites responses (Set-Cookie, origin-wide headers; Location and HTML in the path form). */
export interface ResponseRewriter {
  /** Whether the body is rewritten, from the headers the client gets: the one decision head and body share. */
  rewritesBody(headers: OutgoingHttpHeaders, req: RelayRequest, statusCode: number): boolean;
  headers(
    headers: OutgoingHttpHeaders,
    req: RelayRequest,
    statusCode: number,
    bodyRewritten?: boolean,
  ): OutgoingHttpHeaders;
  /** The rewritten body: only for a response `rewritesBody` said yes to. */
  body(upstream: UpstreamMessage, req: RelayRequest): NodeJS.ReadableStream;
}

/** Where the relay reports: response body bytes as they go, and the outcome once the client response closes. */
export interface RelaySink {
  bytesOut: number;
  relayed(outcome: Outcome): void;
}

type Body = NodeJS.ReadableStream & { destroy(): void };

/**
 * Relays an upstream response to the client; reports the outcome when the client response closes.
 * Returns the error to answer instead when the response cannot be relayed: nothing was sent to the
 * client then, `sink.relayed` is never called, and the caller closes the upstream connection.
 */
export function relay(
  upstream: UpstreamMessage,
  res: ServerResponse,
  req: RelayRequest,
  rewriter: ResponseRewriter | undefined,
  sink: RelaySink,
): GatewayError | undefined {
  const defect = responseHeadDefect(upstream);
  if (defect) return badUpstreamResponse(defect);
  const status = upstream.statusCode!;
  const outcome = outcomeForStatus(status);
  const started = startResponse(upstream, res, req, rewriter);
  if (!('body' in started)) return started.error;
  const body = started.body;
  res.once('close', () => {
    if (!res.writableFinished) {
      upstream.destroy();
      if (body !== upstream) body.destroy();
    }
    sink.relayed(res.writableFinished ? outcome : 'cancelled');
  });
  // Nothing rewrites the body: it goes to the client as undici hands it over.
  if (body === upstream && upstream.deliverTo?.(new Passthrough(upstream, res, sink))) return undefined;
  body.on('data', (chunk: Buffer) => (sink.bytesOut += chunk.length));
  // A failing body (upstream reset, corrupt gzip) can only end the connection: headers are out.
  body.on('error', () => res.destroy());
  if (body !== upstream) upstream.on('error', () => res.destroy());
  // An upstream connection that dies mid-body may end the stream without an error:
  // without this the client would wait forever for the rest.
  upstream.once('close', () => {
    if (!upstream.complete) res.destroy();
  });
  body.pipe(res);
  return undefined;
}

/**
 * The body straight from undici to the client's response, with the pipe's backpressure: a write
 * the client's connection cannot take yet pauses the upstream until it drains. A body that fails
 * after the head ends the client's connection (it must not look whole).
 */
class Passthrough implements BodySink {
  /**
   * A field, not a closure over the constructor's parameter: made in the constructor, that closure
   * kept each request's objects alive through two scavenges into the old generation (2.2 KB per
   * request at c32, and a full collection every few seconds; docs/performance.md, "The tail at 32
   * connections").
   */
  private readonly more = () => this.upstream.more?.();

  constructor(
    private readonly upstream: UpstreamMessage,
    private readonly res: ServerResponse,
    private readonly sink: RelaySink,
  ) {}

  data(chunk: Buffer): boolean {
    this.sink.bytesOut += chunk.length;
    if (this.res.write(chunk)) return true;
    this.res.once('drain', this.more);
    return false;
  }

  end(): void {
    this.res.end();
  }

  fail(): void {
    this.res.destroy();
  }
}

/**
 * Writes the response head: the rewriter's headers (it may throw on what an upstream sent) checked
 * once more, since they are built from upstream values. Nothing is sent when this fails.
 */
function startResponse(
  upstream: UpstreamMessage,
  res: ServerResponse,
  req: RelayRequest,
  rewriter: ResponseRewriter | undefined,
): { body: Body } | { error: GatewayError } {
  const status = upstream.statusCode!;
  const pathForm = req.via !== 'host';
  let body: Body = upstream;
  let headers: OutgoingHttpHeaders = {};
  try {
    const filtered = (headers = downstreamResponseHeaders(upstream.headers, pathForm));
    // One decision for the head and the body: from the headers the client gets.
    const rewrites = rewriter?.rewritesBody(headers, req, status) ?? false;
    // Every form: upstream cookies and origin-wide headers are guarded; the path form is also rewritten.
    if (rewriter) headers = rewriter.headers(headers, req, status, rewrites);
    // Headers the rewriter left as they were are upstream names and values that responseHeadDefect
    // passed (the filter drops some, changes none); anything it made is checked here.
    const defect = headers === filtered ? undefined : headersDefect(headers);
    if (defect) return { error: badUpstreamResponse(defect) };
    if (rewriter && rewrites) body = rewriter.body(upstream, req) as Body;
    // A body of another length never goes out under the upstream's Content-Length (it would frame the next response).
    if (body !== upstream) delete headers['content-length'];
    res.writeHead(status, upstream.statusMessage, headers);
    return { body };
  } catch {
    // What writeHead set of the upstream's on the way must not leak into the error response.
    for (const name in headers) res.removeHeader(name);
    res.statusMessage = '';
    if (body !== upstream) body.destroy();
    return { error: badUpstreamResponse('its headers could not be relayed') };
  }
}
