/**
 * Builds the gateway's parts from the config: cluster state, authentication,
 * authorization, identity for upstreams, balancer and forwarder. This is the
 * only file that knows how the modules are constructed.
 */
import { readFileSync } from 'node:fs';
import { lookup } from 'node:dns/promises';
import type { IncomingMessage } from 'node:http';
import { bearerExpiry } from '../authn/bearer-expiry.js';
import { ANONYMOUS, type Identity } from '../authn/identity.js';
import { createAuthentication, type Authentication } from '../authn/index.js';
import { terminalSignInEnabled } from '../authn/terminal/index.js';
import { HOST_LOGIN_PATH, usesHandoff } from '../authn/handoff/index.js';
import {
  checkOrigin,
  createAuthorizer,
  forbiddenError,
  requestAttributes,
  targetOrigin,
  type GatewayAuthorizer,
} from '../authz/index.js';
import { systemClock, type Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import type { ClusterState } from '../kube/cluster-state.js';
import {
  createKubeClusterState,
  createStaticClusterState,
  loadKubeConfig,
  type ApiServerAccess,
} from '../kube/index.js';
import { createAuditLog } from '../observability/audit.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { createAddressPolicy } from '../proxy/address-policy.js';
import { cidrMatcher } from '../proxy/cidr-set.js';
import { clientAddress } from '../proxy/forwarded-for.js';
import { createBalancer } from '../proxy/balancer/index.js';
import { createForwarder } from '../proxy/forward.js';
import { routedHostMatcher } from '../proxy/host-route.js';
import { createTargetResolver } from '../proxy/resolve.js';
import { createResponseRewriter } from '../proxy/rewrite/index.js';
import { createTunnels } from '../proxy/tunnel/index.js';
import { createUpstreamIdentity } from '../upstream-identity/index.js';
import { createPortal } from '../web/portal/index.js';
import type { AuditSink } from './access-log.js';
import { createCredentialWatch } from './liveness/index.js';
import type { RequestContext } from './request-context.js';
import { createTunnelEvents } from './tunnel-events.js';

export interface PartsOptions {
  logger: Logger;
  metrics: Metrics;
  state?: ClusterState;
  insecureNoAuth?: boolean;
  clock?: Clock;
}

export type Parts = Awaited<ReturnType<typeof buildParts>>;

/** With --insecure-no-auth and no rules, the anonymous caller may use any verb (and tunnel) inside the namespace fence. */
function insecureConfig(config: Config): Config {
  if (config.authorization.rules.length > 0 || config.authorization.kubernetesRBAC.enabled) return config;
  const resources: ('services' | 'pods' | 'nodes')[] = config.authorization.nodeProxy
    ? ['services', 'pods', 'nodes']
    : ['services', 'pods'];
  const rule = {
    users: [ANONYMOUS.username],
    namespaces: ['*'],
    resources,
    verbs: ['*' as const],
    // Tunnels too, when tunnels.enabled: this mode is for trying things on one's own machine.
    subresources: ['*' as const],
  };
  return { ...config, authorization: { ...config.authorization, rules: [rule] } };
}

/**
 * The dial policy is a pure function of the address, and resolution asks it
 * about every endpoint of a Service on every request: remember the answers.
 * The addresses come from EndpointSlices and Node status, never from clients.
 */
function memoized(policy: (ip: string) => boolean, max = 100_000) {
  const answers = new Map<string, boolean>();
  const mayDial = (ip: string): boolean => {
    let allowed = answers.get(ip);
    if (allowed === undefined) {
      allowed = policy(ip);
      if (answers.size >= max) answers.clear();
      answers.set(ip, allowed);
    }
    return allowed;
  };
  return Object.assign(mayDial, { size: () => answers.size });
}

/** `config` passed the loader (config/load.ts), which holds every rule: nothing here checks it again. */
export async function buildParts(config: Config, o: PartsOptions) {
  const { logger, metrics, clock } = o;
  // A test's clock drives every lifetime and interval; without one, durations are monotonic.
  const elapsed = clock ? () => clock.now() : undefined;
  if (o.insecureNoAuth) {
    logger.warn(
      'INSECURE: --insecure-no-auth is set: every caller is anonymous; listening on 127.0.0.1 only',
    );
    config = insecureConfig(config);
  }

  const kubeConfig: ApiServerAccess | undefined =
    config.kubernetes === 'none' ? undefined : loadKubeConfig(config.kubernetes);
  const state =
    o.state ??
    (config.kubernetes === 'none'
      ? createStaticClusterState(config.static.services)
      : createKubeClusterState(kubeConfig!, {
          logger,
          podCacheTTL: config.kubernetes.podCacheTTL,
          nodeCacheTTL: config.kubernetes.nodeCacheTTL,
          onWatchRestart: (resource: string) => metrics.watchRestarts.inc({ resource }),
          clock,
        }));

  const publicURL = new URL(config.publicURL);
  const trustedProxy = cidrMatcher(config.listen.trustedProxies);
  const authentication: Authentication = await createAuthentication(config, {
    logger,
    kubeConfig,
    publicURL,
    metrics,
    clock,
    isRoutedHost: routedHostMatcher(config.routing),
    clientIP: (req) =>
      clientAddress(req.socket.remoteAddress ?? '', req.headers['x-forwarded-for'], trustedProxy).ip,
  });
  const authorizer: GatewayAuthorizer = createAuthorizer(config, { kubeConfig, logger, now: elapsed });
  const identity = await createUpstreamIdentity(config, { logger });
  const audit = createAuditLog(config.logging.audit, logger);
  const balancer = createBalancer(config.upstream.loadBalancing, { metrics, now: elapsed });
  const clientScheme = config.listen.tls || publicURL.protocol === 'https:' ? 'https' : 'http';
  // Always on: Location and Set-Cookie rewriting is apiserver behaviour; rewriteHTML only governs bodies.
  // Upstream Set-Cookie lines naming a gateway cookie are dropped in every form.
  const rewriter = createResponseRewriter(config.upstream, {
    isGatewayCookie: (name) => authentication.isGatewayCookie(name),
    clientScheme,
    publicHost: publicURL.host,
    logger,
  });

  const mayDial = memoized(createAddressPolicy(config.upstream.allowedAddresses));
  const resolveTarget = createTargetResolver({
    state,
    mayDial,
    allowSelectorless: config.upstream.allowSelectorlessServices,
    lookupHost: async (host) => (await lookup(host, { all: true })).map((a) => a.address),
    nodeAddressTypes:
      config.kubernetes === 'none' ? undefined : config.kubernetes.kubeletPreferredAddressTypes,
    endpointRecheckMs: config.kubernetes === 'none' ? undefined : config.kubernetes.endpointRecheck,
    onPodCheck: (result) => metrics.podChecks.inc({ result }),
    now: elapsed,
  });

  const affinityKey =
    config.upstream.loadBalancing.affinityKey === 'user'
      ? (_req: IncomingMessage, ctx: RequestContext) => ctx.identity?.username ?? ''
      : (_req: IncomingMessage, ctx: RequestContext) => ctx.client.ip;

  const forwarder = createForwarder({
    picker: balancer.picker,
    retry: balancer.retry,
    rewriter,
    connectTimeoutMs: config.upstream.connectTimeout,
    responseHeaderTimeoutMs: config.upstream.responseHeaderTimeout,
    idleTimeoutMs: config.upstream.idleTimeout,
    tls: {
      verify: config.upstream.tls.verify,
      ca: config.upstream.tls.caFile ? readFileSync(config.upstream.tls.caFile, 'utf8') : undefined,
    },
    proto: clientScheme,
    publicHost: publicURL.host,
    isReservedHeader: (name) => identity.isReservedHeader(name),
    isSessionCookie: (name) => authentication.isSessionCookie(name),
    identityHeaders: (ctx) => identity.headersFor(ctx.identity!, ctx.target!),
    affinityKey,
    maxRequestBodyBytes: config.upstream.maxRequestBodyBytes,
    maxUpgradesPerUser: config.upstream.maxUpgradesPerUser,
    clientSendTimeoutMs: config.listen.sendTimeout,
    mayDial,
    metrics: {
      upstreamConnectErrors: metrics.upstreamConnectErrors,
      upstreamDuration: metrics.upstreamDuration,
    },
  });

  const auditSink: AuditSink = { record: (ctx, status, bytes, ms) => audit.record(ctx, status, bytes, ms) };

  // Tunnel timers (idle, lifetime, keepalive, credential expiry) need a clock even without a test's.
  const tunnelClock = clock ?? systemClock;
  const tunnelEvents = createTunnelEvents(metrics, audit, logger);
  const tunnels = createTunnels({
    config: config.tunnels,
    picker: balancer.picker,
    retry: balancer.retry,
    connectTimeoutMs: config.upstream.connectTimeout,
    onConnectError: () => metrics.upstreamConnectErrors.inc(),
    clock: tunnelClock,
    events: tunnelEvents.events,
    affinityKey,
    watchCredential: createCredentialWatch({
      liveness: (req) => authentication.liveness(req),
      bearerExpiry: (req) => bearerExpiry(req, () => tunnelClock.now()),
      clock: tunnelClock,
      logger,
    }),
  });

  const portal = createPortal({
    services: () => state.services(),
    authorizer,
    attributes: requestAttributes,
    authenticate: (req, res) => authentication.authenticate(req, res),
    anonymous: o.insecureNoAuth ? ANONYMOUS : undefined,
    publicURL,
    hostSuffix: config.routing.hostSuffix,
    tunnels: config.tunnels.enabled,
    logoutPath: config.authentication.oidc ? '/auth/logout' : undefined,
    formTargets: config.authentication.oidc ? [new URL(config.authentication.oidc.issuer).origin] : [],
    terminalLogin: terminalSignInEnabled(config) ? `kube-bastion login ${publicURL.origin}` : undefined,
  });

  return {
    state,
    authentication,
    authorizer,
    forwarder,
    resolveTarget,
    tunnels,
    /** Counts tunnel requests refused before their upgrade (call at every request's end). */
    tunnelFinished: tunnelEvents.finished,
    audit: auditSink,
    anonymous: o.insecureNoAuth ? ANONYMOUS : undefined,
    attributes: requestAttributes,
    denied: forbiddenError,
    // With host routing, sign-in lives on publicURL's host, not on the service's: use an absolute URL.
    loginPath: !config.authentication.oidc
      ? undefined
      : config.routing.hostSuffix || config.routing.routes.length > 0
        ? new URL('/auth/login', publicURL).href
        : '/auth/login',
    /** Where a browser without a session on a routed host signs in: on that host, when it signs in by handoff. */
    hostLoginPath: usesHandoff(config) ? HOST_LOGIN_PATH : undefined,
    /** CSRF and WebSocket-Origin checks against the origin of the request's own target. */
    checkOrigin: (req: IncomingMessage, who: Identity, upgrade: boolean, hostRouted: boolean) =>
      checkOrigin(req, who, targetOrigin(publicURL, req.headers.host, hostRouted), upgrade),
    jwks: () => identity.jwks(),
    /** Sizes of the per-key caches built here, for kube_bastion_cache_entries (each has a bound). */
    cacheEntries: (): Record<string, number> => ({
      'dial-policy': mayDial.size(),
      'endpoint-pods': resolveTarget.podConfirmations(),
      'rbac-answers': authorizer.answersCached,
      'portal-answers': portal.answersCached(),
      'balancer-targets': balancer.picker.targets,
    }),
    portal,
    async close() {
      authorizer.close();
      await Promise.allSettled([state.stop(), authentication.close(), audit.close()]);
    },
  };
}
