/**
 * Where HTML rewriting is switched off by configuration: everywhere
 * (`upstream.rewriteHTML: false`), or for request paths matching one of
 * `upstream.rewriteHTMLExclude` — for apps that already know their prefix
 * (Grafana's `root_url`, Prometheus' `--web.external-url`) or whose markup
 * must reach the browser byte for byte. Header rewriting stays on either
 * way: it never adds a prefix twice and the apiserver always does it.
 */
import picomatch from 'picomatch';

export interface RewritePolicyConfig {
  rewriteHTML: boolean;
  rewriteHTMLExclude?: readonly string[];
}

/** A predicate on the request target as received (`/api/v1/…/proxy/x?y`): may its HTML response be rewritten? */
export function createRewritePolicy(config: RewritePolicyConfig): (requestURL: string) => boolean {
  if (!config.rewriteHTML) return () => false;
  const patterns = config.rewriteHTMLExclude ?? [];
  if (patterns.length === 0) return () => true;
  const excluded = picomatch([...patterns], { dot: true });
  return (requestURL) => {
    const q = requestURL.indexOf('?');
    return !excluded(q === -1 ? requestURL : requestURL.slice(0, q));
  };
}
