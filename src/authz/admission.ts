/**
 * What is refused only once the caller may proceed: a method the proxy
 * subresource does not route (405), `dryRun` (400), a cross-site write or
 * WebSocket (403, csrf.ts), a declared body over the limit (413). After
 * authorization, as the apiserver orders it: an outsider learns nothing from
 * a 405 that a 403 would not tell them.
 */
import type { IncomingMessage } from 'node:http';
import { GatewayError, badRequest } from '../errors.js';
import type { RequestContext } from '../request/context.js';
import { PROXY_METHODS, hasDryRun } from '../request/proxy-path.js';
import { checkOrigin, targetOrigin } from './csrf.js';

export interface AdmissionSettings {
  /** The gateway's base URL: the origin of path-form requests. */
  publicURL: URL;
  /** Largest request body (0: unlimited). */
  maxRequestBodyBytes: number;
}

/** Throws the refusal; reads the request's method, path, identity and form from `ctx`. */
export type Admission = (req: IncomingMessage, ctx: RequestContext) => void;

export function createAdmission(s: AdmissionSettings): Admission {
  return (req, ctx) => {
    if (!PROXY_METHODS.has(ctx.method)) {
      throw new GatewayError(
        405,
        'MethodNotAllowed',
        'the server does not allow this method on the requested resource',
      );
    }
    if (hasDryRun(ctx.proxyPath!.rawQuery)) throw badRequest('dryRun is not supported');
    // Cookie callers need a same-origin Origin on unsafe methods (CSRF); every
    // WebSocket upgrade needs one whatever the credential (cross-site hijacking).
    const origin = targetOrigin(s.publicURL, req.headers.host, ctx.via === 'host');
    checkOrigin(req, ctx.identity!, origin, ctx.upgrade);
    if (s.maxRequestBodyBytes > 0) {
      const length = Number(req.headers['content-length'] ?? 0);
      if (length > s.maxRequestBodyBytes) {
        throw new GatewayError(413, 'RequestEntityTooLarge', 'request body too large');
      }
    }
  };
}
