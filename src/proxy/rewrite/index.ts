/** Response rewriting for the path form: see README.md in this folder. */
export { createBodyRewriter, UnsupportedContentEncodingError } from './body-rewriter.js';
export { parseContentEncoding, type BodyEncoding } from './encoding.js';
export { rewriteLocation, rewriteResponseHeaders } from './headers.js';
export { createRewritePolicy, type RewritePolicyConfig } from './policy.js';
export { shouldRewriteBody } from './predicate.js';
export {
  createResponseRewriter,
  rewriteContextOf,
  type ResponseRewriter,
  type RewriteRequest,
} from './response-rewriter.js';
export { rewriteSetCookiePath } from './set-cookie.js';
export { rewriteURL, type RewriteContext } from './url.js';
