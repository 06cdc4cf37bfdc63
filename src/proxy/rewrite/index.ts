/** What an upstream's answer may do to the client: guards (every form) and rewriting (path form). See README.md. */
export { createBodyRewriter, UnsupportedContentEncodingError } from './body-rewriter.js';
export {
  guardSetCookie,
  guardSetCookies,
  type CookieDropReason,
  type CookieGuardContext,
  type CookieVerdict,
} from './cookie-guard.js';
export { parseContentEncoding, type BodyEncoding } from './encoding.js';
export { rewriteLocation, rewriteLocationHeaders, rewriteResponseHeaders } from './headers.js';
export { DEFAULT_LIMITS, InflateLimitError, type RewriteLimitReason, type RewriteLimits } from './limits.js';
export { guardOriginHeaders, type OriginScope } from './origin-headers.js';
export {
  createRewritePolicy,
  createSandboxPolicy,
  SANDBOX_POLICY,
  type RewritePolicyConfig,
} from './policy.js';
export { shouldRewriteBody } from './predicate.js';
export {
  createResponseRewriter,
  rewriteContextOf,
  type ResponseRewriter,
  type ResponseRewriterConfig,
  type ResponseRewriterOptions,
  type RewriteRequest,
  type RewriteTarget,
} from './response-rewriter.js';
export { rewriteSetCookiePath } from './set-cookie.js';
export { rewriteURL, type RewriteContext } from './url.js';
