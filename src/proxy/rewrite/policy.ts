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
import picomatch from 'picomatch';

export interface RewritePolicyConfig {
  rewriteHTML: boolean;
  rewriteHTMLExclude?: readonly string[];
}

/** A predicate on the request target as received (`/api/v1/…/proxy/x?y`): may its HTML response be rewritten? */
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

/** A predicate on the request target: does its path-form response get SANDBOX_POLICY? */
export function createSandboxPolicy(patterns: readonly string[]): (requestURL: string) => boolean {
  return requestPathMatcher(patterns);
}

/** Globs over the whole request path (`**` crosses `/`), the query left out. */
function requestPathMatcher(patterns: readonly string[]): (requestURL: string) => boolean {
  if (patterns.length === 0) return () => false;
  const matches = picomatch([...patterns], { dot: true });
  return (requestURL) => {
    const q = requestURL.indexOf('?');
    return matches(q === -1 ? requestURL : requestURL.slice(0, q));
  };
}
