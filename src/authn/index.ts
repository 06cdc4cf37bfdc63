/**
 * Who is calling. Four ways in, one Identity out:
 *   - a bearer JWT from a configured issuer (CI: GitHub Actions, …),
 *   - a bearer token the cluster accepts (ServiceAccount tokens, via TokenReview),
 *   - the gateway's own CLI access token, from `kube-bastion login` (terminal/),
 *   - a browser session from OIDC sign-in (sealed cookie, or Redis behind a handle).
 * A request that carries a bearer token is judged by it alone.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiServerAccess } from '../kube/index.js';
import express from 'express';
import { systemClock, type Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import { rememberingTallyKey } from '../observability/tally.js';
import { GatewayError, unauthorized } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { bearerToken } from './credentials.js';
import { isGatewayCookieName } from './gateway-cookies.js';
import { createHostSignIn, failedSignInTarget, usesHandoff, type HostSignIn } from './handoff/index.js';
import { withAuthenticatedGroup, type Identity } from '../request/identity.js';
import type { CredentialLiveness } from './liveness.js';
import { BearerAuthenticator } from './jwt/bearer-authenticator.js';
import { IdentityProvider } from './oidc/identity-provider.js';
import { LOGIN_PATH, createAuthRouter } from './oidc/router.js';
import { TokenReviewAuthenticator } from './serviceaccount/token-review.js';
import { TokenCache } from './token-cache.js';
import { BrowserSessions } from './session/browser-sessions.js';
import { cookieSettings, readChunked, requestCookies } from './session/cookie-jar.js';
import { returnOrigins } from './oidc/redirect-target.js';
import { SealedBox } from './session/sealed-box.js';
import { CookieSessionStore, type SessionStore } from './session/store.js';
import { attachTerminalSignIn, terminalLiveness } from './terminal/attach.js';

export type { Identity } from '../request/identity.js';
export type { CredentialLiveness, Liveness } from './liveness.js';
export { ExpressionError } from './claims/cel.js';
export { LOGIN_PATH } from './oidc/router.js';

export interface Authentication {
  /**
   * The caller's identity; undefined when the request carries no credentials
   * at all; throws GatewayError 401 (bad credentials) or 503 (an issuer, the
   * IdP, the apiserver or Redis cannot be reached). Never logs tokens.
   * Pass `res` so a renewed or rotated session cookie reaches the browser
   * (merged into the response at writeHead, whatever the proxy sets).
   */
  authenticate(req: IncomingMessage, res?: ServerResponse): Promise<Identity | undefined>;
  /**
   * What `authenticate` would answer, at once, for a bearer JWT verified before and still
   * remembered (the common case: a CI job's or script's burst); undefined when it must be asked
   * (anything else, a refusal included). Counted as `authenticate` counts. Never throws.
   */
  knownBearer(req: IncomingMessage): Identity | undefined;
  /** /auth/login, /auth/callback, /auth/logout, /auth/whoami, the terminal's /auth/cli/… and /auth/device (mount at the app root). */
  router: express.Router;
  /**
   * How to ask again, later, whether the credential of this (already
   * authenticated) request is still good: for connections that outlive their
   * request (WebSockets, tunnels). Undefined when there is nothing to re-check:
   * bearer tokens are judged at the upgrade only, as the apiserver does — except
   * the gateway's own CLI tokens, which are watched until their sign-in (token
   * family) is revoked or ends (terminal/bearer.ts).
   */
  liveness(req: IncomingMessage): CredentialLiveness | undefined;
  /** Our cookies (every session chunk, the sign-in cookie, a routed host's own), which the proxy strips. */
  isSessionCookie(name: string): boolean;
  /**
   * Whether a cookie name is, or poses as, one the gateway sets anywhere (any case, with or
   * without `__Host-`/`__Secure-`): upstream Set-Cookie lines naming one are dropped.
   */
  isGatewayCookie(name: string): boolean;
  /** True once IdP discovery is done (always true without browser sign-in). */
  ready(): boolean;
  close(): Promise<void>;
}

export interface AuthenticationDeps {
  logger: Logger;
  kubeConfig?: ApiServerAccess;
  publicURL: URL;
  metrics?: Metrics;
  /**
   * Session lifetimes and liveness, sign-in handoffs, token caches, issuer
   * cooldowns and backoff read this clock; the system clock by default.
   */
  clock?: Clock;
  /** Longest wait for a JWT issuer's discovery document or keys (ms); default 5 s. */
  issuerTimeoutMs?: number;
  /** Whether a Host is one host routing serves (by its form): sign-in is handed only to those. */
  isRoutedHost?: (host: string) => boolean;
  /** The client's address as the gateway vouches for it (listen.trustedProxies); the peer's by default. */
  clientIP?: (req: IncomingMessage) => string;
}

export async function createAuthentication(
  config: Config,
  deps: AuthenticationDeps,
): Promise<Authentication> {
  const { logger, publicURL } = deps;
  const authn = config.authentication;
  const clock = deps.clock ?? systemClock;
  const now = () => clock.now();

  let tokenReview: TokenReviewAuthenticator | undefined;
  // The config loader refused serviceAccountTokens with `kubernetes: none`: there is a cluster.
  if (authn.serviceAccountTokens.enabled)
    tokenReview = new TokenReviewAuthenticator(deps.kubeConfig!, authn.serviceAccountTokens, { now });
  const bearer = new BearerAuthenticator(
    authn,
    logger,
    tokenReview,
    { now, fetchTimeoutMs: deps.issuerTimeoutMs },
    publicURL.href,
  );
  bearer.warmUp();

  const browser = authn.oidc && authn.session ? await createBrowserSignIn(config, deps) : undefined;
  const session = authn.session;
  const cookieBase = session?.cookieName ?? 'kube_bastion';

  const authenticationKey = rememberingTallyKey();
  const count = (method: string, result: string) =>
    deps.metrics?.tallies.authentications.inc(authenticationKey(method, result));
  const terminal = browser
    ? await attachTerminalSignIn(config, { ...deps, clock, loginPath: LOGIN_PATH }, browser)
    : undefined;

  async function authenticate(req: IncomingMessage, res?: ServerResponse): Promise<Identity | undefined> {
    try {
      const token = bearerToken(req);
      let identity: Identity | undefined;
      if (token !== undefined && terminal?.recognizes(token)) {
        identity = await terminal.authenticate(token); // ours: no other authenticator judges it
      } else if (token !== undefined) {
        if (!bearer.enabled)
          throw unauthorized(
            'bearer tokens are not accepted here (no authentication.jwt issuer is configured)',
          );
        const missed = notRemembered.get(req);
        identity = await bearer.authenticate(token, missed?.token === token ? missed.key : undefined);
      } else if (browser?.hosts?.isRoutedRequest(req)) {
        identity = await browser.hosts.authenticate(req, res); // a routed host's own cookie
      } else {
        identity = await browser?.sessions.authenticate(req, res);
      }
      if (!identity) return undefined;
      count(identity.method, 'success');
      return withAuthenticatedGroup(identity);
    } catch (err) {
      count(
        req.headers.authorization ? 'bearer' : 'session',
        err instanceof GatewayError && err.status === 401 ? 'failure' : 'error',
      );
      throw err;
    }
  }

  // A token knownBearer hashed and did not find, with its key, for the full path to reuse: one hash per request.
  const notRemembered = new WeakMap<IncomingMessage, { token: string; key: string }>();
  function knownBearer(req: IncomingMessage): Identity | undefined {
    const token = bearerToken(req);
    if (token === undefined || !bearer.enabled || terminal?.recognizes(token)) return undefined;
    const key = TokenCache.key(token);
    const identity = bearer.remembered(key);
    if (identity) count(identity.method, 'success');
    else notRemembered.set(req, { token, key });
    return identity;
  }

  const router = express.Router();
  if (terminal) router.use(terminal.router);
  router.use(
    createAuthRouter({
      idp: browser?.idp,
      sessions: browser?.sessions,
      loginBox: browser?.loginBox,
      publicURL,
      ttl: session?.ttl ?? 0,
      authenticate,
      isOwnOrigin: returnOrigins(publicURL, config.routing),
      onSignOut: (ended) => browser?.hosts?.signedOut(ended),
      failedSignInTarget: browser?.hosts ? failedSignInTarget : undefined,
      logger,
    }),
  );
  if (browser?.hosts) router.use(browser.hosts.router);

  function liveness(req: IncomingMessage): CredentialLiveness | undefined {
    if (req.headers.authorization !== undefined) return terminalLiveness(req, terminal);
    if (!browser) return undefined;
    if (browser.hosts?.isRoutedRequest(req)) return browser.hosts.liveness(req);
    const value = readChunked(browser.sessions.cookies, requestCookies(req));
    return value === undefined ? undefined : browser.sessions.liveness(value);
  }

  return {
    authenticate,
    knownBearer,
    liveness,
    router,
    isSessionCookie: (name) => isGatewayCookieName(name, cookieBase),
    isGatewayCookie: (name) => isGatewayCookieName(name, cookieBase),
    ready: () => (browser?.idp.ready() ?? true) && (terminal?.ready() ?? true),
    async close() {
      bearer.close();
      browser?.idp.close();
      await Promise.allSettled([browser?.store.close(), browser?.hosts?.close(), terminal?.close()]);
    },
  };
}

async function createBrowserSignIn(config: Config, deps: AuthenticationDeps) {
  const { logger, publicURL } = deps;
  // The config loader required the session with oidc, and its secret (inline or read from secretFile).
  const settings = config.authentication.session!;
  const secrets = [settings.secret!, ...settings.previousSecrets];
  const cookies = cookieSettings(
    publicURL,
    settings.cookieName,
    settings.cookieDomain,
    config.listen.maxHeaderBytes,
  );
  const clock = deps.clock ?? systemClock;
  const now = () => clock.now();
  const redis = settings.store === 'redis';
  const store: SessionStore = redis
    ? // Loaded only when configured: ioredis costs memory and start-up time nobody else needs.
      new (await import('./session/redis-store.js')).RedisSessionStore({
        url: settings.redis!.url,
        commandTimeoutMs: settings.redis!.commandTimeout,
        box: await SealedBox.create(secrets, 'handle'),
        logger,
        now,
      })
    : new CookieSessionStore(await SealedBox.create(secrets, 'session'), now);
  const idp = new IdentityProvider(config.authentication.oidc!, logger);
  idp.start();
  const sessions = new BrowserSessions({
    store,
    cookies,
    times: { idleTimeout: settings.idleTimeout, refreshBefore: settings.refreshBefore },
    idp,
    logger,
    cookieCarriesSession: !redis,
    recheckMs: settings.recheckInterval,
    now,
  });
  // Routed hosts without a shared cookieDomain get their own host-only cookie by handoff.
  const hosts: HostSignIn | undefined = usesHandoff(config)
    ? await createHostSignIn({
        config,
        publicURL,
        loginPath: LOGIN_PATH,
        sessions,
        store,
        idp,
        secrets,
        isRoutedHost: deps.isRoutedHost ?? (() => false),
        now,
        recheckMs: settings.recheckInterval,
        maxHeaderBytes: config.listen.maxHeaderBytes,
        logger,
      })
    : undefined;
  return { idp, sessions, store, hosts, secrets, loginBox: await SealedBox.create(secrets, 'login') };
}
