/**
 * The gateway's own HTTP surface on the public port (never proxied): sign-in
 * routes, the portal, the JWKS of the identity assertion, static assets.
 */
import express from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../config/schema.js';
import { GatewayError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { sendError } from '../web/error-response.js';
import { STYLESHEET } from '../web/pages/stylesheet.js';
import type { Parts } from './parts.js';

export function createPages(_config: Config, parts: Parts, logger: Logger) {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.set('etag', false);

  app.get('/.well-known/jwks.json', (_req, res) => {
    res.set('cache-control', 'public, max-age=300').json(parts.jwks());
  });
  app.get('/_bastion/style.css', (_req, res) => {
    res
      .set({ 'content-type': 'text/css; charset=utf-8', 'cache-control': 'public, max-age=3600' })
      .send(STYLESHEET);
  });
  app.use(parts.authentication.router);
  app.use(parts.portal);

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
    if (!(err instanceof GatewayError)) logger.error({ err, path: req.path }, 'page failed');
    sendError(req, res, e, { loginPath: parts.loginPath });
  });
  return (req: IncomingMessage, res: ServerResponse): void =>
    void app(req as express.Request, res as express.Response);
}
