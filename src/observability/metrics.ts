/**
 * Prometheus metrics (prom-client), all on one registry served at /metrics
 * on the admin port. Names follow Prometheus conventions with a
 * `kube_bastion_` prefix.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { Tally } from './tally.js';
import { TallyHistogram } from './tally-histogram.js';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** What the gauges read at scrape time (the gateway provides them once its parts exist). */
export interface GaugeSources {
  inFlight(): number;
  /** Upgraded (WebSocket) connections open through the gateway. */
  upgradesOpen(): number;
  cacheSynced(): boolean;
  /** Usable (ready) endpoints of every known Service. */
  serviceEndpoints(): Iterable<{ namespace: string; service: string; endpoints: number }>;
  /** Objects in the watch caches, when the cluster state keeps any. */
  cacheObjects(): Partial<Record<'services' | 'endpointslices' | 'endpoints', number>>;
  /** Entries held now by each per-key cache (pod lookups, RBAC answers, …), by cache name. */
  cacheEntries(): Record<string, number>;
  /** True when the cluster holds this namespace (a metric label may take it). */
  knowsNamespace(namespace: string): boolean;
}

export function createMetrics() {
  const registry = new Registry();
  let sources: GaugeSources | undefined;
  collectDefaultMetrics({ register: registry, prefix: 'kube_bastion_' });
  // The per-request counters count in plain numbers and hand them over when read (tally.ts).
  const tallies = {
    requests: new Tally((): Counter<'namespace' | 'kind' | 'code'> => m.requests, ['namespace', 'kind', 'code']),
    authentications: new Tally((): Counter<'method' | 'result'> => m.authentications, ['method', 'result']),
    decisions: new Tally((): Counter<'allowed' | 'by'> => m.decisions, ['allowed', 'by']),
  };
  const m = {
    registry,
    requests: new Counter({
      name: 'kube_bastion_requests_total',
      help: 'Proxied requests by namespace, kind and status code.',
      labelNames: ['namespace', 'kind', 'code'] as const,
      registers: [registry],
      collect: (): void => tallies.requests.flush(),
    }),
    // Observed twice per request: counted in plain numbers, printed as prom-client prints (tally-histogram.ts).
    requestDuration: new TallyHistogram({
      name: 'kube_bastion_request_duration_seconds',
      help: 'Time from request arrival to the end of the response.',
      labelNames: ['kind'] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: 'kube_bastion_requests_in_flight',
      help: 'Proxied requests being served now.',
      registers: [registry],
      collect() {
        if (sources) this.set(sources.inFlight());
      },
    }),
    upgradesOpen: new Gauge({
      name: 'kube_bastion_upgrades_open',
      help: 'Upgraded (WebSocket) connections open now.',
      registers: [registry],
      collect() {
        if (sources) this.set(sources.upgradesOpen());
      },
    }),
    upstreamDuration: new TallyHistogram({
      name: 'kube_bastion_upstream_response_seconds',
      help: 'Time from sending a request to an endpoint to its response headers (per attempt).',
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    upstreamConnectErrors: new Counter({
      name: 'kube_bastion_upstream_connect_errors_total',
      help: 'Failed attempts to connect to an endpoint.',
      registers: [registry],
    }),
    retries: new Counter({
      name: 'kube_bastion_upstream_retries_total',
      help: 'Requests retried on another endpoint.',
      registers: [registry],
    }),
    ejections: new Counter({
      name: 'kube_bastion_endpoint_ejections_total',
      help: 'Endpoints ejected by outlier detection.',
      registers: [registry],
    }),
    endpoints: new Gauge({
      name: 'kube_bastion_service_endpoints',
      help: 'Usable (ready) endpoints known per Service.',
      labelNames: ['namespace', 'service'] as const,
      registers: [registry],
      collect() {
        if (!sources) return;
        this.reset();
        for (const s of sources.serviceEndpoints()) this.labels(s.namespace, s.service).set(s.endpoints);
      },
    }),
    cacheSynced: new Gauge({
      name: 'kube_bastion_cache_synced',
      help: '1 when the cluster-state caches have synced.',
      registers: [registry],
      collect() {
        if (sources) this.set(sources.cacheSynced() ? 1 : 0);
      },
    }),
    cacheObjects: new Gauge({
      name: 'kube_bastion_cache_objects',
      help: 'Objects held in the watch caches, by resource.',
      labelNames: ['resource'] as const,
      registers: [registry],
      collect() {
        if (!sources) return;
        for (const [resource, n] of Object.entries(sources.cacheObjects())) this.labels(resource).set(n);
      },
    }),
    cacheEntries: new Gauge({
      name: 'kube_bastion_cache_entries',
      help: 'Entries held by each per-key cache; every one has a fixed bound (docs/operations.md).',
      labelNames: ['cache'] as const,
      registers: [registry],
      collect() {
        if (!sources) return;
        for (const [cache, n] of Object.entries(sources.cacheEntries())) this.labels(cache).set(n);
      },
    }),
    watchRestarts: new Counter({
      name: 'kube_bastion_watch_restarts_total',
      help: 'Watches restarted after an error or a 410 Gone.',
      labelNames: ['resource'] as const,
      registers: [registry],
    }),
    podChecks: new Counter({
      name: 'kube_bastion_endpoint_pod_checks_total',
      help: 'Checks that an endpoint IP belongs to its Pod, by result (confirmed, refuted, error): one Pod read or two each.',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    authentications: new Counter({
      name: 'kube_bastion_authentications_total',
      help: 'Authentication outcomes by method.',
      labelNames: ['method', 'result'] as const,
      registers: [registry],
      collect: (): void => tallies.authentications.flush(),
    }),
    cliTokens: new Counter({
      name: 'kube_bastion_cli_token_requests_total',
      help: 'Token endpoint answers for terminal sign-in, by grant (authorization_code, device_code, refresh_token) and result (issued or the OAuth error).',
      labelNames: ['grant', 'result'] as const,
      registers: [registry],
    }),
    decisions: new Counter({
      name: 'kube_bastion_authorization_decisions_total',
      help: 'Authorization decisions by outcome and deciding rule.',
      labelNames: ['allowed', 'by'] as const,
      registers: [registry],
      collect: (): void => tallies.decisions.flush(),
    }),
    tunnelsOpen: new Gauge({
      name: 'kube_bastion_tunnels_open',
      help: 'TCP tunnels open now (upgraded: dialling or relaying).',
      registers: [registry],
    }),
    tunnelOpens: new Counter({
      name: 'kube_bastion_tunnel_opens_total',
      help: 'TCP tunnel requests by result: connected, backend-unreachable, or the refusal before the upgrade (unauthenticated, forbidden, not-found, unavailable, bad-request, cancelled, error).',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    tunnelBytes: new Counter({
      name: 'kube_bastion_tunnel_bytes_total',
      help: 'Bytes relayed through TCP tunnels, by direction (to-backend, to-client).',
      labelNames: ['direction'] as const,
      registers: [registry],
    }),
    tunnelCloses: new Counter({
      name: 'kube_bastion_tunnel_closes_total',
      help: 'TCP tunnels ended, by reason (client-closed, backend-closed, backend-error, idle-timeout, credential-lapsed, …).',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    tunnelDuration: new Histogram({
      name: 'kube_bastion_tunnel_duration_seconds',
      help: 'How long TCP tunnels stayed open.',
      buckets: [1, 10, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 24 * 3600],
      registers: [registry],
    }),
    /** Wires the scrape-time gauges to the gateway's state. */
    readGaugesFrom(s: GaugeSources): void {
      sources = s;
    },
    /** Whether a namespace may be a label value (request-labels.ts); none before the gauges are wired. */
    knowsNamespace: (namespace: string): boolean => sources?.knowsNamespace(namespace) ?? false,
    /** requests, authentications and decisions as the request path counts them (tally.ts). */
    tallies,
  };
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
