/**
 * How the forward stage is built from the config: the forwarder (HTTP and
 * WebSockets) and the tunnels (the portforward subresource), sharing the
 * balancer and the affinity key. Called by assemble.ts only.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { bearerExpiry } from '../authn/bearer-expiry.js';
import type { Authentication } from '../authn/index.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { affinityClientKey, type createBalancer } from '../proxy/balancer/index.js';
import { createForwarder } from '../proxy/forward.js';
import { createResponseRewriter } from '../proxy/rewrite/index.js';
import type { OpenPerUser } from '../proxy/open-per-user.js';
import { createTunnels } from '../proxy/tunnel/index.js';
import type { RequestContext } from '../request/context.js';
import type { UpstreamIdentity } from '../upstream-identity/index.js';
import { sendUpgradeError } from '../web/error-response.js';
import { createCredentialWatch } from './liveness/index.js';
import type { createTunnelEvents } from './tunnel-events.js';

type AffinityKey = (req: IncomingMessage, ctx: RequestContext) => string;

/**
 * Session affinity keys on the client's address, or on the user (`affinityKey: user`), as the
 * balancer defines them (affinityClientKey): anonymous callers still stick by address, and a
 * user named like an address never shares that address's entry.
 */
export function affinityKeyFor(config: Config): AffinityKey {
  const by = config.upstream.loadBalancing.affinityKey;
  return (_req, ctx) => affinityClientKey(by, { ip: ctx.client.ip, user: ctx.identity?.username });
}

export interface ForwarderDeps {
  publicURL: URL;
  authentication: Authentication;
  identity: UpstreamIdentity;
  balancer: ReturnType<typeof createBalancer>;
  affinityKey: AffinityKey;
  logger: Logger;
  metrics: Metrics;
  /** `upstream.allowedAddresses`: the forwarder asks it again whenever it dials. */
  mayDial?: (ip: string) => boolean;
  /** `upstream.maxUpgradesPerUser`: one count for a user's WebSockets and tunnels. */
  openPerUser: OpenPerUser;
}

export function createForwarderFor(config: Config, d: ForwarderDeps) {
  const { upstream } = config;
  const clientScheme = config.listen.tls || d.publicURL.protocol === 'https:' ? 'https' : 'http';
  // Always on: Location and Set-Cookie rewriting is apiserver behaviour; rewriteHTML only governs bodies.
  // Upstream Set-Cookie lines naming a gateway cookie are dropped in every form.
  const rewriter = createResponseRewriter(upstream, {
    isGatewayCookie: (name) => d.authentication.isGatewayCookie(name),
    clientScheme,
    publicHost: d.publicURL.host,
    logger: d.logger,
  });
  return createForwarder({
    picker: d.balancer.picker,
    retry: d.balancer.retry,
    rewriter,
    connectTimeoutMs: upstream.connectTimeout,
    responseHeaderTimeoutMs: upstream.responseHeaderTimeout,
    idleTimeoutMs: upstream.idleTimeout,
    tls: {
      verify: upstream.tls.verify,
      ca: upstream.tls.caFile ? readFileSync(upstream.tls.caFile, 'utf8') : undefined,
    },
    proto: clientScheme,
    publicHost: d.publicURL.host,
    isReservedHeader: (name) => d.identity.isReservedHeader(name),
    isSessionCookie: (name) => d.authentication.isSessionCookie(name),
    answerUpgrade: sendUpgradeError,
    identityHeaders: (ctx) => d.identity.headersFor(ctx.identity!, ctx.target!),
    affinityKey: d.affinityKey,
    maxRequestBodyBytes: upstream.maxRequestBodyBytes,
    openPerUser: d.openPerUser,
    clientSendTimeoutMs: config.listen.sendTimeout,
    mayDial: d.mayDial,
    metrics: {
      upstreamConnectErrors: d.metrics.upstreamConnectErrors,
      upstreamDuration: d.metrics.upstreamDuration,
    },
  });
}

export interface TunnelDeps extends ForwarderDeps {
  clock: Clock;
  events: ReturnType<typeof createTunnelEvents>['events'];
}

/** Tunnels (the portforward subresource): their timers run on the gateway's clock. */
export function createTunnelsFor(config: Config, d: TunnelDeps) {
  return createTunnels({
    config: config.tunnels,
    picker: d.balancer.picker,
    retry: d.balancer.retry,
    connectTimeoutMs: config.upstream.connectTimeout,
    onConnectError: () => d.metrics.upstreamConnectErrors.inc(),
    clock: d.clock,
    events: d.events,
    affinityKey: d.affinityKey,
    openPerUser: d.openPerUser,
    watchCredential: createCredentialWatch({
      liveness: (req) => d.authentication.liveness(req),
      bearerExpiry: (req) => bearerExpiry(req, () => d.clock.now()),
      clock: d.clock,
      logger: d.logger,
    }),
  });
}
