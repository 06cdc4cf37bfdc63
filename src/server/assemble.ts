/**
 * The gateway's collaborators, built from a valid config in the order a
 * request meets them, and handed by name to the pipeline (pipeline.ts: the
 * order, and how a failure becomes a response):
 *
 *   route → authenticate → authorize → admit → resolve → (balance +) forward → record
 *
 * (forward: HTTP and WebSockets through proxy/forward.ts; a tunnel — the
 * portforward subresource — through proxy/tunnel/.)
 *
 * The only file that knows how the modules are constructed. `config` passed
 * the loader (config/load.ts), which holds every rule: nothing here checks it again.
 */
import { lookup } from 'node:dns/promises';
import type { IncomingMessage } from 'node:http';
import { createAuthentication, LOGIN_PATH, type Authentication } from '../authn/index.js';
import { HOST_LOGIN_PATH, usesHandoff } from '../authn/handoff/index.js';
import { terminalSignInEnabled } from '../authn/terminal/index.js';
import { createAdmission } from '../authz/admission.js';
import { createAuthorizer, forbiddenError, requestAttributes } from '../authz/index.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import { unauthorized } from '../errors.js';
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
import { OpenPerUser } from '../proxy/open-per-user.js';
import { createAddressPolicy, rememberAnswers } from '../proxy/address-policy.js';
import { createBalancer } from '../proxy/balancer/index.js';
import { cidrMatcher } from '../proxy/cidr-set.js';
import { createForwarder } from '../proxy/forward.js';
import { routedHostMatcher } from '../proxy/host-route.js';
import { createTargetResolver } from '../proxy/resolve.js';
import type { Tunnels } from '../proxy/tunnel/index.js';
import { clientAddress } from '../request/forwarded-for.js';
import { ANONYMOUS } from '../request/identity.js';
import { createUpstreamIdentity } from '../upstream-identity/index.js';
import { createPortal } from '../web/portal/index.js';
import { createAccessLog } from './access-log.js';
import { gaugeSources } from './gauges.js';
import { insecureConfig } from './insecure.js';
import { createUpgradeWatch } from './liveness/index.js';
import { createPages } from './pages.js';
import { createPipeline, type Pipeline } from './pipeline.js';
import { createRoute } from './route.js';
import { createTunnelEvents } from './tunnel-events.js';
import { affinityKeyFor, createForwarderFor, createTunnelsFor } from './forwarding.js';

export interface AssemblyOptions {
  logger: Logger;
  metrics: Metrics;
  /** Every lifetime and interval reads it (see GatewayOptions.clock). */
  clock: Clock;
  /** Cluster state to use instead of the one the config describes (tests, benchmarks). */
  state?: ClusterState;
  insecureNoAuth?: boolean;
}

export interface Assembly {
  /** Serves every request and upgrade of the public listener. */
  readonly pipeline: Pipeline;
  /** Started before the public listener; ready once its caches are filled. */
  readonly state: ClusterState;
  readonly authentication: Authentication;
  /** Open upgraded connections, told to go away on shutdown. */
  readonly upgrades: ReturnType<typeof createForwarder>['upgrades'];
  /** Open tunnels: told to end on shutdown, cut on close. */
  readonly tunnels: Pick<Tunnels, 'shutdown' | 'close'>;
  /** Stops everything built here (listeners are the caller's). */
  close(): Promise<void>;
}

export async function assembleGateway(config: Config, o: AssemblyOptions): Promise<Assembly> {
  const { logger, metrics, clock } = o;
  // A test's clock drives every lifetime and interval; IO deadlines run on real timers.
  const now = () => clock.now();
  if (o.insecureNoAuth) config = insecureConfig(config, logger);
  const publicURL = new URL(config.publicURL);
  const kubeConfig = config.kubernetes === 'none' ? undefined : loadKubeConfig(config.kubernetes);
  const state = o.state ?? clusterState(config, kubeConfig, o);
  const trustedProxy = cidrMatcher(config.listen.trustedProxies);
  const clientOf = (req: IncomingMessage) =>
    clientAddress(req.socket.remoteAddress ?? '', req.headers['x-forwarded-for'], trustedProxy);

  // route: a proxy URL or a routed host names a target; anything else is a page of ours.
  const route = createRoute(config.routing, publicURL, state);

  // authenticate: who is calling.
  const authentication = await createAuthentication(config, {
    logger,
    kubeConfig,
    publicURL,
    metrics,
    clock,
    isRoutedHost: routedHostMatcher(config.routing),
    clientIP: (req) => clientOf(req).ip,
  });
  const anonymous = o.insecureNoAuth ? ANONYMOUS : undefined;

  // authorize, then admit: may they, and is this request one the proxy takes.
  const authorizer = createAuthorizer(config, { kubeConfig, logger, now });
  const admit = createAdmission({ publicURL, maxRequestBodyBytes: config.upstream.maxRequestBodyBytes });

  // resolve: where the target's endpoints are, and which of them may be dialled.
  const mayDial = rememberAnswers(createAddressPolicy(config.upstream.allowedAddresses));
  const resolveTarget = createResolverFor(config, { state, mayDial, metrics, now });

  // balance + forward: which endpoint, and the exchange with it (a tunnel: raw TCP to it).
  // The audit log is made first: tunnels report to it as they open and close.
  const audit = createAuditLog(config.logging.audit, logger);
  const identity = await createUpstreamIdentity(config, { logger });
  const balancer = createBalancer(config.upstream.loadBalancing, { metrics, now });
  const affinityKey = affinityKeyFor(config);
  const openPerUser = new OpenPerUser(config.upstream.maxUpgradesPerUser);
  const forward = {
    publicURL,
    authentication,
    identity,
    balancer,
    affinityKey,
    logger,
    metrics,
    mayDial,
    openPerUser,
  };
  const forwarder = createForwarderFor(config, forward);
  const tunnelEvents = createTunnelEvents(metrics, audit, logger);
  const tunnels = createTunnelsFor(config, { ...forward, clock, events: tunnelEvents.events });

  // record: access log, audit and metrics, once the request is over.
  const accessLog = createAccessLog(logger, metrics, audit);
  const watchUpgrade = createUpgradeWatch({ liveness: (req) => authentication.liveness(req), clock, logger });

  // The gateway's own pages: sign-in, the portal, the assertion's keys.
  const portal = createPortal({
    services: () => state.services(),
    authorizer,
    attributes: requestAttributes,
    authenticate: (req, res) => authentication.authenticate(req, res),
    anonymous,
    publicURL,
    hostSuffix: config.routing.hostSuffix,
    tunnels: config.tunnels.enabled,
    logoutPath: config.authentication.oidc ? '/auth/logout' : undefined,
    formTargets: config.authentication.oidc ? [new URL(config.authentication.oidc.issuer).origin] : [],
    terminalLogin: terminalSignInEnabled(config) ? `kube-bastion login ${publicURL.origin}` : undefined,
  });
  const signIn = signInPaths(config, publicURL);
  const pages = createPages({
    jwks: () => identity.jwks(),
    routers: [authentication.router, portal],
    loginPath: signIn.loginPath,
    logger,
  });

  const pipeline = createPipeline(
    {
      route,
      // A bearer token verified before answers at once; anything else is asked (and awaited).
      authenticate: (req, _ctx, res) =>
        authentication.knownBearer(req) ??
        authentication.authenticate(req, res).then((who = anonymous) => {
          if (!who) throw unauthorized();
          return who;
        }),
      attributes: (req, path, who, upgrade) => requestAttributes(req.method ?? 'GET', path, who, upgrade),
      authorize: (attrs) => authorizer.authorize(attrs),
      admit,
      resolve: (path, ctx) => {
        // An ambiguous host is refused only here, after authorization: an outsider learns nothing of what exists.
        if (ctx.hostAmbiguity) throw ctx.hostAmbiguity;
        const target = resolveTarget(path);
        if (path.subresource !== 'portforward') return target;
        // A tunnel may reach only the ports tunnels.ports allows: refused here, before the upgrade.
        return Promise.resolve(target).then((t) => tunnels.admitTarget(t));
      },
      // The forwarder returns what it learned; the request's record is kept here.
      forward: async (req, res, ctx) => {
        const learned = await forwarder.web(req, res, ctx);
        ctx.endpoint = learned.endpoint;
        ctx.retries = learned.retries;
        ctx.bytes = learned.bytesOut;
        if (learned.error) throw learned.error;
      },
      forwardUpgrade: (req, socket, head, ctx) =>
        ctx.proxyPath!.subresource === 'portforward'
          ? tunnels.upgrade(req, socket, head, ctx)
          : forwarder.upgrade(req, socket, head, ctx),
    },
    {
      pages,
      denied: forbiddenError,
      finished: (ctx, status, bytes, err) => {
        accessLog(ctx, status, bytes, err);
        tunnelEvents.finished(ctx, status);
      },
      ...signIn,
      publicURL: config.publicURL,
      clientAddress: clientOf,
      unexpected: (err) => logger.error({ err }, 'request failed unexpectedly; only this request ended'),
      // A tunnel is the gateway's own WebSocket: it watches its credential itself (proxy/tunnel/).
      upgrading: (req, socket, ctx) =>
        ctx.proxyPath?.subresource === 'portforward' ? undefined : watchUpgrade(req, socket, ctx),
    },
  );

  // Sizes of the per-key caches built here, for kube_bastion_cache_entries (each has a bound).
  const cacheEntries = (): Record<string, number> => ({
    'dial-policy': mayDial.size(),
    'endpoint-pods': resolveTarget.podConfirmations(),
    'rbac-answers': authorizer.answersCached,
    'portal-answers': portal.answersCached(),
    'balancer-targets': balancer.picker.targets,
  });
  metrics.readGaugesFrom(gaugeSources(state, pipeline.inFlight, () => forwarder.upgrades.size, cacheEntries));

  return {
    pipeline,
    state,
    authentication,
    upgrades: forwarder.upgrades,
    tunnels,
    async close() {
      forwarder.close();
      authorizer.close();
      await Promise.allSettled([state.stop(), authentication.close(), audit.close()]);
    },
  };
}

function clusterState(
  config: Config,
  kubeConfig: ApiServerAccess | undefined,
  o: AssemblyOptions,
): ClusterState {
  if (config.kubernetes === 'none') return createStaticClusterState(config.static.services);
  return createKubeClusterState(kubeConfig!, {
    logger: o.logger,
    podCacheTTL: config.kubernetes.podCacheTTL,
    nodeCacheTTL: config.kubernetes.nodeCacheTTL,
    onWatchRestart: (resource: string) => o.metrics.watchRestarts.inc({ resource }),
    clock: o.clock,
  });
}

/** Where browsers sign in: on publicURL's host, or on a routed host itself when it signs in by handoff. */
function signInPaths(config: Config, publicURL: URL): { loginPath?: string; hostLoginPath?: string } {
  if (!config.authentication.oidc) return {};
  // With host routing, sign-in lives on publicURL's host, not on the service's: an absolute URL.
  const routed = config.routing.hostSuffix || config.routing.routes.length > 0;
  return {
    loginPath: routed ? new URL(LOGIN_PATH, publicURL).href : LOGIN_PATH,
    hostLoginPath: usesHandoff(config) ? HOST_LOGIN_PATH : undefined,
  };
}

interface ResolverDeps {
  state: ClusterState;
  mayDial: (ip: string) => boolean;
  metrics: Metrics;
  now: () => number;
}

function createResolverFor(config: Config, d: ResolverDeps) {
  const kube = config.kubernetes === 'none' ? undefined : config.kubernetes;
  return createTargetResolver({
    state: d.state,
    mayDial: d.mayDial,
    allowSelectorless: config.upstream.allowSelectorlessServices,
    lookupHost: async (host) => (await lookup(host, { all: true })).map((a) => a.address),
    nodeAddressTypes: kube?.kubeletPreferredAddressTypes,
    endpointRecheckMs: kube?.endpointRecheck,
    onPodCheck: (result) => d.metrics.podChecks.inc({ result }),
    now: d.now,
  });
}
