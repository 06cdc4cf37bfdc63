/**
 * What is refused only once the caller may proceed: a tunnel that is not a
 * WebSocket or comes from a web page (400, 403), a method the proxy
 * subresource does not route (405), `dryRun` (400), a cross-site write or
 * WebSocket (403, csrf.ts), a declared body over the limit (413). After
 * authorization, as the apiserver orders it: an outsider learns nothing from
 * a 405 that a 403 would not tell them.
 */
import type { IncomingMessage } from 'node:http';
import { GatewayError, badRequest, forbidden } from '../errors.js';
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

/**
 * A tunnel is for programs, never for web pages: every browser WebSocket carries an Origin,
 * and a page served through the path form shares the gateway's origin (and the person's
 * cookie), so without this any proxied app's script could open raw TCP to a database as
 * whoever views it. `kube-bastion connect` and other tools send no Origin. Sec-WebSocket-Origin
 * is the same header as browsers of the hybi-08 draft spelled it (ws still accepts version 8).
 */
function admitTunnel(req: IncomingMessage, ctx: RequestContext): void {
  // As the apiserver answers a plain request for a connect subresource that needs a stream.
  if (!ctx.upgrade) {
    throw badRequest('Upgrade request required: a tunnel is a WebSocket (kube-bastion connect)');
  }
  if (req.headers.origin !== undefined || req.headers['sec-websocket-origin'] !== undefined) {
    throw forbidden(
      'a tunnel cannot be opened from a web page (the request has an Origin): use kube-bastion connect',
    );
  }
}

export function createAdmission(s: AdmissionSettings): Admission {
  return (req, ctx) => {
    if (ctx.proxyPath!.subresource === 'portforward') admitTunnel(req, ctx);
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
