/**
 * The seam the forwarder calls for every proxied response: whether the body
 * is rewritten, decided once from the headers the client gets, then the
 * headers and the body, both handed that one decision. (Deciding twice, once
 * from the client's headers and once from the upstream's, let an upstream
 * make them differ — `Connection: content-type` — and send a rewritten body
 * under its own Content-Length: the bytes past it were the next response.)
 * In both forms the upstream's Set-Cookie and origin-wide headers are
 * guarded; in the path form Location, Set-Cookie paths and HTML links get the
 * prefix; with host routing an absolute Location to the upstream is moved to
 * the host the client used, and the body passes untouched.
 */
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { pipeline } from 'node:stream';
import type { Logger } from '../../observability/logger.js';
import { createBodyRewriter } from './body-rewriter.js';
import { guardSetCookies } from './cookie-guard.js';
import { headersToRewrite, rewriteLocationHeaders, rewriteResponseHeaders } from './headers.js';
import { DEFAULT_LIMITS, type RewriteLimits, type RewriteLimitReason } from './limits.js';
import { guardOriginHeaders } from './origin-headers.js';
import {
  createRewritePolicy,
  createSandboxPolicy,
  policyPath,
  SANDBOX_POLICY,
  type RewritePolicyConfig,
} from './policy.js';
import { headerText, shouldRewriteBody } from './predicate.js';
import type { RewriteContext } from './url.js';

/** What the rewriter reads about a request; the gateway's RequestContext has these fields. */
export interface RewriteRequest {
  method: string;
  /** The request target as received (a relative Service-Worker-Allowed resolves against it). */
  url: string;
  /** How the client came: the path form (default) or host routing. */
  via?: 'path' | 'host';
  /**
   * The path form's prefix (host routing: '') and the canonical upstream path: `rewriteHTMLExclude`
   * and `rewrite.sandbox` match their concatenation (policy.ts, policyPath).
   */
  proxyPath?: { prefix: string; path?: string };
  /** The endpoint dialled; links to it are same-origin. */
  endpoint?: { ip: string; port: number };
  /** The Host header the client sent; links to it are same-origin too. */
  host?: string;
  /** For log lines. */
  id?: string;
  target?: RewriteTarget;
}

export interface RewriteTarget {
  kind: string;
  namespace: string;
  name: string;
  /** `services/ns/name:port`, as the access log names the upstream. */
  key?: string;
  /** The Service port the request selected: links to the Service's DNS name at it are the upstream too. */
  servicePort?: number;
}

export interface ResponseRewriterConfig extends RewritePolicyConfig {
  rewrite?: Partial<RewriteLimits> & { sandbox?: readonly string[] };
}

export interface ResponseRewriterOptions {
  /** Every cookie name of the gateway (authn's `gatewayCookieMatcher`): an upstream may never set one. */
  isGatewayCookie: (name: string) => boolean;
  /** How clients reach the gateway (publicURL's scheme, or https when it serves TLS); absolute Locations use it. */
  clientScheme?: 'http' | 'https';
  /** publicURL's host: in the path form the upstream was sent it as Host, so its absolute links name it. */
  publicHost?: string;
  logger?: Logger;
}

export interface ResponseRewriter {
  /** Whether this response's body is rewritten, from the headers the client gets (downstreamResponseHeaders). */
  rewritesBody(headers: OutgoingHttpHeaders, req: RewriteRequest, statusCode: number): boolean;
  /** `bodyRewritten`: rewritesBody's answer (default: asked here, of these headers). */
  headers(
    headers: OutgoingHttpHeaders,
    req: RewriteRequest,
    statusCode: number,
    bodyRewritten?: boolean,
  ): OutgoingHttpHeaders;
  /**
   * The rewritten body, for a response rewritesBody said yes to (nothing decides again here, from other
   * headers); errors of `upstream` are re-emitted on the result.
   */
  body(upstream: IncomingMessage, req: RewriteRequest): NodeJS.ReadableStream;
}

export function createResponseRewriter(
  config: ResponseRewriterConfig,
  options: ResponseRewriterOptions,
): ResponseRewriter {
  const htmlAllowedFor = createRewritePolicy(config);
  const sandboxed = createSandboxPolicy(config.rewrite?.sandbox ?? []);
  const limits: RewriteLimits = {
    maxBodyBytes: config.rewrite?.maxBodyBytes ?? DEFAULT_LIMITS.maxBodyBytes,
    maxTokenBytes: config.rewrite?.maxTokenBytes ?? DEFAULT_LIMITS.maxTokenBytes,
  };
  const log = options.logger;
  const rewritesBody = (
    statusCode: number,
    req: RewriteRequest,
    headers: IncomingHttpHeaders | OutgoingHttpHeaders,
  ) =>
    req.via !== 'host' &&
    req.proxyPath !== undefined && // what rewriteContextOf needs
    htmlAllowedFor(policyPath(req)) &&
    shouldRewriteBody(statusCode, req.method, headers) &&
    // A body that says it is larger than the limit is not worth decoding at all.
    !(Number(headerText(headers['content-length'])) > limits.maxBodyBytes);
  const upstreamOf = (req: RewriteRequest) => ({
    reqId: req.id,
    upstream: req.target?.key,
    endpoint: req.endpoint && `${req.endpoint.ip}:${req.endpoint.port}`,
  });

  return {
    rewritesBody: (headers, req, statusCode) => rewritesBody(statusCode, req, headers),
    headers(headers, req, statusCode, bodyRewritten = rewritesBody(statusCode, req, headers)) {
      const form = req.via === 'host' ? 'host' : 'path';
      let out = headers;
      // Most responses have nothing for the cookie guard and the URL rewriting: `headers` goes on as it came.
      if (headersToRewrite(headers, bodyRewritten)) {
        out = guardSetCookies(
          headers,
          { form, host: req.host, isGatewayCookie: options.isGatewayCookie },
          (cookie, reason) =>
            log?.debug({ ...upstreamOf(req), cookie, reason }, 'upstream Set-Cookie dropped'),
        );
        const ctx = rewriteContextOf(req, options.clientScheme, options.publicHost);
        if (ctx !== undefined)
          out =
            form === 'path'
              ? rewriteResponseHeaders(out, ctx, bodyRewritten)
              : rewriteLocationHeaders(out, ctx);
      }
      // rewriteContextOf's prefix: the path form's, '' without one.
      const prefix = req.proxyPath?.prefix ?? '';
      const guarded = guardOriginHeaders(out, { form, prefix, requestURL: req.url });
      if (guarded.changed.length > 0)
        log?.debug({ ...upstreamOf(req), headers: guarded.changed }, 'upstream origin-wide headers dropped');
      out = guarded.headers;
      if (form === 'path' && sandboxed(policyPath(req))) out = withPolicy(out, SANDBOX_POLICY);
      return out;
    },
    body(upstream, req) {
      const ctx = rewriteContextOf(req, options.clientScheme, options.publicHost);
      if (ctx === undefined) return upstream; // rewritesBody said no: never asked
      const onLimit = (reason: RewriteLimitReason) =>
        reason === 'inflate'
          ? log?.warn(
              { ...upstreamOf(req), reason, limits },
              'upstream HTML inflates like a decompression bomb: cut',
            )
          : log?.debug(
              { ...upstreamOf(req), reason, limits },
              'upstream HTML passed through unrewritten from here',
            );
      const rewriter = createBodyRewriter(headerText(upstream.headers['content-encoding']), ctx, {
        limits,
        onLimit,
      });
      // pipeline destroys the rewriter with the upstream's error; the caller sees it there.
      pipeline(upstream, rewriter, () => {});
      return rewriter;
    },
  };
}

/** `headers` plus one more Content-Security-Policy: comma-separated policies are each enforced, so they only narrow. */
function withPolicy(headers: OutgoingHttpHeaders, policy: string): OutgoingHttpHeaders {
  const own = headerText(headers['content-security-policy']);
  return { ...headers, 'content-security-policy': own === '' ? policy : `${own}, ${policy}` };
}

// A Host header an absolute URL may be built on: a name or IP literal and a port, nothing else.
const WELL_FORMED_HOST = /^(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9.-]*[a-z0-9])?)(:\d{1,5})?$/i;

export function rewriteContextOf(
  req: RewriteRequest,
  clientScheme?: 'http' | 'https',
  publicHost?: string,
): RewriteContext | undefined {
  if (req.proxyPath === undefined) return undefined;
  const { ip, port } = req.endpoint ?? { ip: '', port: 0 };
  const host = req.host ?? '';
  const target = req.target;
  return {
    prefix: req.proxyPath.prefix,
    upstreamHost: ip === '' ? '' : `${ip.includes(':') ? `[${ip}]` : ip}:${port}`,
    requestHost: host,
    // The path form sends the upstream publicURL's host, so its absolute links name that host.
    sentHost: req.via !== 'host' ? publicHost : undefined,
    service:
      target?.kind === 'services' && target.servicePort !== undefined
        ? { name: target.name, namespace: target.namespace, port: target.servicePort }
        : undefined,
    clientOrigin: clientScheme && WELL_FORMED_HOST.test(host) ? `${clientScheme}://${host}` : undefined,
  };
}
