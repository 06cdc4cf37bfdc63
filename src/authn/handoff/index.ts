/**
 * Sign-in on routed hosts without a shared cookie domain: the gateway's own
 * origin hands a one-time ticket to the routed host, which keeps a host-only
 * cookie of its own (README.md has the design and its reasons).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type express from 'express';
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../observability/logger.js';
import type { Identity } from '../../request/identity.js';
import type { CredentialLiveness } from '../liveness.js';
import type { IdentityProvider } from '../oidc/identity-provider.js';
import type { BrowserSessions } from '../session/browser-sessions.js';
import { SealedBox } from '../session/sealed-box.js';
import type { Session } from '../session/session.js';
import type { SessionStore } from '../session/store.js';
import { hostCookieSettings } from './host-cookies.js';
import { HostSessions } from './host-sessions.js';
import { isGatewayHost, originOf } from './origins.js';
import { HOST_SIGNIN_PATH } from './paths.js';
import { createHandoffRouter } from './router.js';
import { MemoryUsedIds, RedisUsedIds, type UsedIds } from './used-ids.js';

export { hostCookieSettings, type HostCookieSettings } from './host-cookies.js';
export { HANDOFF_PATH, HOST_SIGNIN_PATH, isReservedHostPath } from './paths.js';
export { failedSignInTarget } from './failure.js';

/**
 * Whether routed hosts sign in by handoff: browser sign-in and host routing
 * are on, and no `cookieDomain` shares one cookie across the hosts instead.
 */
export function usesHandoff(config: Config): boolean {
  const { oidc, session } = config.authentication;
  const routed = config.routing.hostSuffix !== undefined || config.routing.routes.length > 0;
  return oidc !== undefined && session !== undefined && session.cookieDomain === undefined && routed;
}

/** Where a browser on a routed host goes to sign in (on that host; the handoff takes it on from there). */
export const HOST_LOGIN_PATH = HOST_SIGNIN_PATH;

export interface HostSignInOptions {
  /** How often a WebSocket opened with a routed host's cookie asks whether its session still holds (ms). */
  recheckMs: number;
  maxHeaderBytes: number;
  config: Config;
  publicURL: URL;
  loginPath: string;
  sessions: BrowserSessions;
  store: SessionStore;
  idp: IdentityProvider;
  secrets: string[];
  isRoutedHost: (host: string) => boolean;
  now: () => number;
  logger: Logger;
}

export interface HostSignIn {
  /** `/auth/handoff` on the gateway's host; `/.kube-bastion/signin` and `/callback` on routed hosts. */
  router: express.Router;
  /** Whether a request came in on another host than the gateway's own (then its session is the host's cookie). */
  isRoutedRequest(req: IncomingMessage): boolean;
  authenticate(req: IncomingMessage, res?: ServerResponse): Promise<Identity | undefined>;
  /** For connections opened on a routed host (WebSockets): whether its session still holds. */
  liveness(req: IncomingMessage): CredentialLiveness | undefined;
  /** Call on sign-out: ends the session's host cookies as far as the store allows (see host-sessions.ts). */
  signedOut(session: Session): void;
  close(): Promise<void>;
}

export async function createHostSignIn(o: HostSignInOptions): Promise<HostSignIn> {
  const settings = o.config.authentication.session!;
  const serverSide = settings.store === 'redis';
  const handoff = o.config.routing.handoff;
  const used: UsedIds = serverSide
    ? await RedisUsedIds.connect(settings.redis!.url, o.now)
    : new MemoryUsedIds(o.now);
  const hosts = new HostSessions({
    store: o.store,
    hostCookies: hostCookieSettings(o.publicURL, settings.cookieName, o.maxHeaderBytes),
    sessions: o.sessions,
    recheckMs: o.recheckMs,
    box: await SealedBox.create(o.secrets, 'host'),
    serverSide,
    hostSessionTTL: handoff.hostSessionTTL,
    times: { idleTimeout: settings.idleTimeout, refreshBefore: settings.refreshBefore },
    idp: o.idp,
    logger: o.logger,
    now: o.now,
  });
  const router = createHandoffRouter({
    publicURL: o.publicURL,
    loginPath: o.loginPath,
    sessions: o.sessions,
    hosts,
    box: await SealedBox.create(o.secrets, 'handoff'),
    used,
    ttl: handoff.ttl,
    isRoutedHost: o.isRoutedHost,
    now: o.now,
    logger: o.logger,
  });
  return {
    router,
    isRoutedRequest: (req) => !isGatewayHost(o.publicURL, req.headers.host),
    authenticate(req, res) {
      const origin = originOf(o.publicURL, req.headers.host);
      return origin === undefined ? Promise.resolve(undefined) : hosts.authenticate(req, origin, res);
    },
    liveness(req) {
      const origin = originOf(o.publicURL, req.headers.host);
      return origin === undefined ? undefined : hosts.liveness(req, origin);
    },
    signedOut: (session) => hosts.signedOut(session),
    close: () => used.close(),
  };
}
