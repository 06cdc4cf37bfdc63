/**
 * Sign-in from a terminal: `kube-bastion login` through the gateway's own
 * browser sign-in, and the gateway's own CLI tokens. See README.md here and
 * docs/decisions/0002-terminal-login.md for the design.
 */
import type { IncomingMessage } from 'node:http';
import express from 'express';
import type { Config } from '../../config/schema.js';
import { GatewayError } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import { asGatewayError, sendError, wantsHTML } from '../../web/error-response.js';
import type { Identity } from '../../request/identity.js';
import type { CredentialLiveness } from '../liveness.js';
import { AccessTokens, isAccessTokenShape } from './access-token.js';
import { TerminalBearer } from './bearer.js';
import { deviceHandlers } from './device-pages.js';
import { DeviceGrants } from './device-grants.js';
import { TokenFamilies } from './families.js';
import { FormTokens } from './form-token.js';
import { LoopbackCodes } from './loopback-codes.js';
import { loopbackHandlers } from './loopback-pages.js';
import { OAuthError, sendOAuthError, unavailable } from './oauth-error.js';
import { sendResult, type PageSessionDeps } from './page-session.js';
import { TERMINAL_PATHS } from './protocol.js';
import { StoreUnavailableError, type RecordStore } from './store/record-store.js';
import { tokenHandlers } from './token-endpoint.js';

export type { BrowserSignedIn } from './page-session.js';
export { isAccessTokenShape } from './access-token.js';

export interface TerminalSignInDeps {
  config: Config;
  publicURL: URL;
  /** The session secrets (current first): CLI tokens and form tokens derive their keys from them. */
  secrets: string[];
  store: RecordStore;
  browserSession: PageSessionDeps['browserSession'];
  /** The client's address as the gateway vouches for it (listen.trustedProxies). */
  clientIP(req: IncomingMessage): string;
  loginPath: string;
  logger: Logger;
  now: () => number;
  metrics?: Metrics;
}

export interface TerminalSignIn {
  /** The endpoints under /auth/cli/ and /auth/device. */
  router: express.Router;
  /** Whether a bearer token is a CLI access token (then only this judges it). */
  recognizes(token: string): boolean;
  /** The identity of a CLI access token (method `cli`); throws 401, or 503 when the store cannot answer. */
  authenticate(token: string): Promise<Identity>;
  /** How a connection opened with a CLI access token re-checks its sign-in. */
  liveness(token: string): CredentialLiveness;
  ready(): boolean;
  close(): Promise<void>;
}

type Handler = (req: express.Request, res: express.Response) => Promise<void>;

/** OAuth errors as JSON, page errors as pages; a store that is down is a 503 either way. */
function guarded(handler: Handler, json: boolean, logger: Logger): Handler {
  return async (req, res) => {
    try {
      await handler(req, res);
    } catch (err) {
      const e = err instanceof StoreUnavailableError ? unavailable(`${err.message}; try again`) : err;
      if (e instanceof OAuthError) {
        if (json) return sendOAuthError(res, e);
        return sendResult(req, res, e.status, {
          title: 'Try again in a moment',
          message: e.message,
          problem: true,
        });
      }
      if (!(e instanceof GatewayError)) logger.error({ err: e, path: req.path }, 'terminal sign-in failed');
      if (json) return sendOAuthError(res, new OAuthError('server_error', asGatewayError(e).message, 500));
      if (wantsHTML(req) && e instanceof GatewayError)
        return sendResult(req, res, e.status, {
          title: 'This did not work',
          message: e.message,
          problem: true,
        });
      sendError(req, res, asGatewayError(e));
    }
  };
}

export function createTerminalSignIn(d: TerminalSignInDeps): TerminalSignIn {
  const cli = d.config.authentication.cli;
  const session = d.config.authentication.session!;
  const accessTokenTTL = Math.min(cli.accessTokenTTL, session.ttl);
  const maxLifetime = cli.maxLifetime > 0 ? Math.min(cli.maxLifetime, session.ttl) : session.ttl;
  const tokens = new AccessTokens(d.secrets, d.publicURL, d.now);
  const families = new TokenFamilies(
    d.store,
    tokens,
    { accessTokenTTL, idleTimeout: session.idleTimeout },
    d.now,
    d.logger,
  );
  const codes = new LoopbackCodes(d.store, d.now);
  const grants = new DeviceGrants(d.store, {
    ttlMs: cli.deviceCodeTTL,
    intervalMs: cli.devicePollInterval,
    verificationURI: new URL(TERMINAL_PATHS.devicePage, d.publicURL),
    now: d.now,
  });
  const forms = new FormTokens(d.secrets, d.now, d.store);
  const bearer = new TerminalBearer(tokens, families, d.now, cli.recheckInterval);
  const pageDeps: PageSessionDeps = {
    browserSession: (req, res) => d.browserSession(req, res),
    publicURL: d.publicURL,
    loginPath: d.loginPath,
    maxLifetime,
    now: d.now,
  };
  const loopback = loopbackHandlers({
    ...pageDeps,
    codes,
    forms,
    onConfirmed: (user, client) =>
      d.logger.info({ user, client }, 'terminal sign-in confirmed in the browser'),
  });
  const device = deviceHandlers({
    ...pageDeps,
    grants,
    forms,
    clientIP: (req) => d.clientIP(req),
    onDecided: (user, decision, client) =>
      d.logger.info({ user, decision, client }, 'device sign-in decided'),
  });
  const token = tokenHandlers({
    codes,
    grants,
    families,
    tokens,
    count: (grant, result) => d.metrics?.cliTokens.inc({ grant, result }),
  });

  const router = express.Router();
  const form = express.urlencoded({ extended: false, limit: '8kb', parameterLimit: 20 });
  const page = (h: Handler) => guarded(h, false, d.logger);
  const api = (h: Handler) => guarded(h, true, d.logger);
  router.get(TERMINAL_PATHS.authorize, page(loopback.show));
  router.post(TERMINAL_PATHS.authorize, form, page(loopback.decide));
  router.get(TERMINAL_PATHS.devicePage, page(device.show));
  router.post(TERMINAL_PATHS.devicePage, form, page(device.decide));
  router.post(TERMINAL_PATHS.device, form, api(device.start));
  router.post(TERMINAL_PATHS.token, form, api(token.token));
  router.post(TERMINAL_PATHS.revoke, form, api(token.revoke));

  return {
    router,
    recognizes: isAccessTokenShape,
    authenticate: (t) => bearer.authenticate(t),
    liveness: (t) => bearer.liveness(t),
    ready: () => d.store.ready(),
    close: () => d.store.close(),
  };
}

/** Whether terminal sign-in is on: it rides on browser sign-in. */
export const terminalSignInEnabled = (config: Config): boolean =>
  config.authentication.cli.enabled && !!config.authentication.oidc && !!config.authentication.session;
