/**
 * The gateway's own HTTP surface on the public port (never proxied): sign-in
 * routes, the portal, the JWKS of the identity assertion, static assets.
 */
import express from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GatewayError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { sendError } from '../web/error-response.js';
import { STYLESHEET } from '../web/pages/stylesheet.js';

export interface PagesDeps {
  /** The identity assertion's public keys (`/.well-known/jwks.json`). */
  jwks(): unknown;
  /** Mounted at the root in this order: sign-in routes, then the portal. */
  routers: readonly express.RequestHandler[];
  /** Where a 401 page sends a browser to sign in. */
  loginPath?: string;
  logger: Logger;
}

export function createPages(deps: PagesDeps) {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.set('etag', false);

  app.get('/.well-known/jwks.json', (_req, res) => {
    res.set('cache-control', 'public, max-age=300').json(deps.jwks());
  });
  app.get('/_bastion/style.css', (_req, res) => {
    res
      .set({ 'content-type': 'text/css; charset=utf-8', 'cache-control': 'public, max-age=3600' })
      .send(STYLESHEET);
  });
  for (const router of deps.routers) app.use(router);

  app.use((req: express.Request, res: express.Response) => {
    sendError(
      req,
      res,
      new GatewayError(404, 'NotFound', 'the server could not find the requested resource'),
    );
  });
  app.use((err: unknown, req: express.Request, res: express.Response, _next: express.NextFunction) => {
    const e =
      err instanceof GatewayError ? err : new GatewayError(500, 'InternalError', 'Internal error occurred');
    if (!(err instanceof GatewayError)) deps.logger.error({ err, path: req.path }, 'page failed');
    sendError(req, res, e, { loginPath: deps.loginPath });
  });
  return (req: IncomingMessage, res: ServerResponse): void =>
    void app(req as express.Request, res as express.Response);
}
