/**
 * Request-path policies of the path form. Where HTML rewriting is switched
 * off by configuration: everywhere (`upstream.rewriteHTML: false`), or for
 * request paths matching one of `upstream.rewriteHTMLExclude` — for apps that
 * already know their prefix (Grafana's `root_url`, Prometheus'
 * `--web.external-url`) or whose markup must reach the browser byte for
 * byte. Header rewriting stays on either way: it never adds a prefix twice
 * and the apiserver always does it. And which responses are sandboxed
 * (`upstream.rewrite.sandbox`).
 */
import { compilePathGlobs } from './path-glob.js';

export interface RewritePolicyConfig {
  rewriteHTML: boolean;
  rewriteHTMLExclude?: readonly string[];
}

/** A predicate on the request path (policyPath): may its HTML response be rewritten? */
export function createRewritePolicy(config: RewritePolicyConfig): (requestURL: string) => boolean {
  if (!config.rewriteHTML) return () => false;
  const excluded = requestPathMatcher(config.rewriteHTMLExclude ?? []);
  return (requestURL) => !excluded(requestURL);
}

/**
 * The CSP that `upstream.rewrite.sandbox` adds: the page's scripts, forms and
 * popups work, but it runs on an opaque origin, so it cannot read or write
 * the gateway's cookies nor make same-origin (credentialed) requests to the
 * gateway or another app. A second CSP header only ever narrows the app's own.
 */
export const SANDBOX_POLICY =
  'sandbox allow-scripts allow-forms allow-popups allow-popups-to-escape-sandbox allow-modals allow-downloads';

/** A predicate on the request path (policyPath): does its path-form response get SANDBOX_POLICY? */
export function createSandboxPolicy(patterns: readonly string[]): (requestURL: string) => boolean {
  return requestPathMatcher(patterns);
}

/** Globs over the whole request path (`**` crosses `/`), the query left out; linear time (path-glob.ts). */
function requestPathMatcher(patterns: readonly string[]): (requestURL: string) => boolean {
  const matches = compilePathGlobs(patterns);
  return (requestURL) => {
    const q = requestURL.indexOf('?');
    return matches(q === -1 ? requestURL : requestURL.slice(0, q));
  };
}

/**
 * The path the policies match: the one the request was routed by — the
 * proxy prefix and upstream path as the grammar made them canonical
 * (decoded, dot segments resolved, re-escaped) — not the request target as
 * received. `/…/namespaces/%72eports/…` and `/…/proxy/x/../page` reach the
 * same target as their plain spelling, so they get the same policy.
 */
export function policyPath(req: { url: string; proxyPath?: { prefix: string; path?: string } }): string {
  const p = req.proxyPath;
  if (p?.path !== undefined) return p.prefix + p.path;
  const q = req.url.indexOf('?');
  return q === -1 ? req.url : req.url.slice(0, q);
}
