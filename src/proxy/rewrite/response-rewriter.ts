/**
 * The seam the forwarder calls for path-form responses: headers first (which
 * must already know whether the body will be rewritten), then the body.
 * Both take the same decision from the same inputs, so they never disagree.
 */
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { pipeline } from 'node:stream';
import { createBodyRewriter } from './body-rewriter.js';
import { rewriteResponseHeaders } from './headers.js';
import { createRewritePolicy, type RewritePolicyConfig } from './policy.js';
import { headerText, shouldRewriteBody } from './predicate.js';
import type { RewriteContext } from './url.js';

/** What the rewriter reads about a request; the gateway's RequestContext has these fields. */
export interface RewriteRequest {
  method: string;
  /** The request target as received, for `rewriteHTMLExclude`. */
  url: string;
  /** Absent for host routing: nothing to rewrite then. */
  proxyPath?: { prefix: string };
  /** The endpoint dialled; links to it are same-origin. */
  endpoint?: { ip: string; port: number };
  /** The Host header the client sent; links to it are same-origin too. */
  host?: string;
}

export interface ResponseRewriter {
  headers(headers: OutgoingHttpHeaders, req: RewriteRequest, statusCode: number): OutgoingHttpHeaders;
  /** `upstream` itself when its body is not rewritten; errors of `upstream` are re-emitted on the result. */
  body(upstream: IncomingMessage, req: RewriteRequest): NodeJS.ReadableStream;
}

export function createResponseRewriter(config: RewritePolicyConfig): ResponseRewriter {
  const htmlAllowedFor = createRewritePolicy(config);
  const rewritesBody = (
    statusCode: number,
    req: RewriteRequest,
    headers: IncomingHttpHeaders | OutgoingHttpHeaders,
  ) => htmlAllowedFor(req.url) && shouldRewriteBody(statusCode, req.method, headers);

  return {
    headers(headers, req, statusCode) {
      const ctx = rewriteContextOf(req);
      if (ctx === undefined) return headers;
      return rewriteResponseHeaders(headers, ctx, rewritesBody(statusCode, req, headers));
    },
    body(upstream, req) {
      const ctx = rewriteContextOf(req);
      if (ctx === undefined || !rewritesBody(upstream.statusCode ?? 200, req, upstream.headers))
        return upstream;
      const rewriter = createBodyRewriter(headerText(upstream.headers['content-encoding']), ctx);
      // pipeline destroys the rewriter with the upstream's error; the caller sees it there.
      pipeline(upstream, rewriter, () => {});
      return rewriter;
    },
  };
}

export function rewriteContextOf(req: RewriteRequest): RewriteContext | undefined {
  if (req.proxyPath === undefined) return undefined;
  const { ip, port } = req.endpoint ?? { ip: '', port: 0 };
  return {
    prefix: req.proxyPath.prefix,
    upstreamHost: ip === '' ? '' : `${ip.includes(':') ? `[${ip}]` : ip}:${port}`,
    requestHost: req.host ?? '',
  };
}
