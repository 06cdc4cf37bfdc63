/**
 * ClusterState backed by a real API server: Services and EndpointSlices are
 * watched into local caches (reads are synchronous), Pods and Nodes are read
 * on demand with a short cache.
 *
 * Staleness bound: the caches count as synced once their first LIST is done
 * and stay synced while their watches are healthy — and for `staleAfter`
 * (default 5 minutes) after a list/watch starts failing. During that window
 * the gateway keeps routing from what it last knew (an API server restart or
 * upgrade must not take every replica out of its Service at once); past it,
 * /readyz turns unready because the endpoints may be badly out of date. The
 * first successful list or watch ends the window.
 */
import type { V1EndpointSlice, V1Node, V1Pod, V1Service } from '@kubernetes/client-node';
import type { Clock } from '../clock.js';
import type { Logger } from '../observability/logger.js';
import type { ApiServerAccess } from './api-access.js';
import { ApiClient, ApiStatusError } from './api-client.js';
import type { BackoffOptions } from './backoff.js';
import type { ClusterState } from './cluster-state.js';
import { EndpointSliceIndex } from './endpoint-slice-index.js';
import { NamespaceIndex } from './namespace-index.js';
import { ObjectCache } from './object-cache.js';
import { OnDemandLookup, type LookupStats } from './on-demand-lookup.js';
import { Reflector, withTimeout, type ListPage, type ReflectorSink } from './reflector.js';
import { slimEndpointSlice, slimNode, slimPod, slimService } from './slim.js';
import { JsonWatch } from './watch.js';

export interface KubeClusterStateOptions {
  logger: Logger;
  /** How long a looked-up Pod is reused (ms). */
  podCacheTTL: number;
  /** How long a looked-up Node is reused (ms). */
  nodeCacheTTL: number;
  /** Called on every list/watch restart after an error, with `services` or `endpointslices`. */
  onWatchRestart?(resource: string, err: unknown): void;
  /** How long the caches stay "synced" while the API server cannot be reached (ms). Default 300 000. */
  staleAfter?: number;
  /** Restart delays after errors. Default 500 ms doubling to 30 s. */
  backoff?: BackoffOptions;
  /** Server-side watch timeout asked for (s). Default 300. */
  watchTimeoutSeconds?: number;
  /** A watch silent this long (no event, no BOOKMARK) is restarted (ms). Default 150 000. */
  watchIdleTimeout?: number;
  /** Longest wait for a LIST page, a watch's response headers, or a Pod/Node read (ms). Default 30 000. */
  requestTimeout?: number;
  /** Objects per LIST page; 0 lists in one response. Default 500. */
  listPageSize?: number;
  /** How long a Pod/Node "not found" is reused (ms). Default min(TTL, 2000). */
  notFoundTTL?: number;
  /** Pods and Nodes kept at most. Default 10 000 each. */
  lookupCacheSize?: number;
  /** `start()` resolves after the first sync, or after this long at most (ms). Default 10 000. */
  syncTimeout?: number;
  now?: () => number;
  /**
   * Cache lifetimes, the staleness bound and the restart backoff read this clock (tests advance
   * it); `now` overrides only the time. IO deadlines (request and watch timeouts) stay real.
   */
  clock?: Clock;
}

export interface ReflectorStats {
  synced: boolean;
  /** Restarts after errors, since start. */
  restarts: number;
  /** Completed LISTs (the first one and every relist). */
  lists: number;
  /** How long list/watch has been failing (0 while healthy). */
  failingForMs: number;
}

export interface ClusterStateStats {
  synced: boolean;
  services: number;
  endpointSlices: number;
  endpoints: number;
  reflectors: { services: ReflectorStats; endpointslices: ReflectorStats };
  pods: LookupStats;
  nodes: LookupStats;
}

export interface KubeClusterState extends ClusterState {
  /** Counters and gauges for /metrics. */
  stats(): ClusterStateStats;
  /** Resolves true once both caches have synced, false after `timeoutMs`. */
  waitForSync(timeoutMs: number): Promise<boolean>;
}

const isNotFound = (err: unknown) => err instanceof ApiStatusError && err.status === 404;
const segment = encodeURIComponent;

export function createKubeClusterState(
  access: ApiServerAccess,
  opts: KubeClusterStateOptions,
): KubeClusterState {
  const clock = opts.clock;
  const now = opts.now ?? (clock ? () => clock.now() : Date.now);
  const logger = opts.logger.child({ component: 'cluster-state' });
  const staleAfter = opts.staleAfter ?? 300_000;
  const requestTimeout = opts.requestTimeout ?? 30_000;
  const client = new ApiClient(access, requestTimeout);
  const watch = new JsonWatch(client);

  const namespaces = new NamespaceIndex();
  const services = new ObjectCache<V1Service>(namespaces.changed);
  const slices = new EndpointSliceIndex((err) => logger.error({ err }, 'endpoints listener failed'));

  /** A reflector that caches only what routing reads (`slim`) of each listed or watched object. */
  function reflector<T>(
    resource: 'services' | 'endpointslices',
    path: string,
    slim: (obj: T) => T,
    sink: ReflectorSink<T>,
  ): Reflector<T> {
    return new Reflector<T>({
      resource,
      path,
      list: async (page) => {
        const query = new URLSearchParams();
        if (page.limit) query.set('limit', String(page.limit));
        if (page.continue) query.set('continue', page.continue);
        const result = await client.get<ListPage<T>>(`${path}?${query.toString()}`);
        return { items: (result.items ?? []).map(slim), metadata: result.metadata };
      },
      deserialize: (raw) => slim(raw as T),
      watch,
      sink,
      logger,
      backoff: opts.backoff ?? { initialMs: 500, maxMs: 30_000 },
      pageSize: opts.listPageSize ?? 500,
      watchTimeoutSeconds: opts.watchTimeoutSeconds ?? 300,
      idleTimeoutMs: opts.watchIdleTimeout ?? 150_000,
      requestTimeoutMs: requestTimeout,
      onRestart: (err) => opts.onWatchRestart?.(resource, err),
      now,
      clock: opts.clock,
    });
  }

  const reflectors = {
    services: reflector<V1Service>('services', '/api/v1/services', slimService, services),
    endpointslices: reflector<V1EndpointSlice>(
      'endpointslices',
      '/apis/discovery.k8s.io/v1/endpointslices',
      slimEndpointSlice,
      slices.cache,
    ),
  };
  const all = Object.values(reflectors) as Reflector<unknown>[];

  function lookup<T>(ttl: number, read: (key: string) => Promise<T>, what: string): OnDemandLookup<T> {
    return new OnDemandLookup<T>({
      fetch: async (key) => {
        try {
          return await withTimeout(read(key), requestTimeout, `GET ${what} ${key}`);
        } catch (err) {
          if (isNotFound(err)) return undefined;
          throw err;
        }
      },
      ttlMs: ttl,
      notFoundTtlMs: opts.notFoundTTL ?? Math.min(ttl, 2000),
      staleForMs: staleAfter,
      max: opts.lookupCacheSize ?? 10_000,
      now,
    });
  }
  const pods = lookup<V1Pod>(
    opts.podCacheTTL,
    async (key) => {
      const slash = key.indexOf('/');
      const [namespace, name] = [segment(key.slice(0, slash)), segment(key.slice(slash + 1))];
      return slimPod(await client.get<V1Pod>(`/api/v1/namespaces/${namespace}/pods/${name}`));
    },
    'pod',
  );
  const nodes = lookup<V1Node>(
    opts.nodeCacheTTL,
    async (name) => slimNode(await client.get<V1Node>(`/api/v1/nodes/${segment(name)}`)),
    'node',
  );

  const fresh = (r: Reflector<unknown>) =>
    r.synced && (r.unhealthySince === undefined || now() - r.unhealthySince < staleAfter);
  const isSynced = () => all.every(fresh);
  const allSynced = () => Promise.all(all.map((r) => r.whenSynced())).then(() => true);

  async function waitForSync(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    return Promise.race([allSynced(), timedOut]).finally(() => clearTimeout(timer));
  }

  const reflectorStats = (r: Reflector<unknown>): ReflectorStats => ({
    synced: fresh(r),
    restarts: r.restarts,
    lists: r.relists,
    failingForMs: r.unhealthySince === undefined ? 0 : now() - r.unhealthySince,
  });

  return {
    service: (namespace, name) => services.get(namespace, name),
    endpointSlices: (namespace, service) => slices.slices(namespace, service),
    services: () => services.values(),
    knowsNamespace: (namespace) => namespaces.has(namespace),
    pod: (namespace, name, maxAgeMs) => pods.get(`${namespace}/${name}`, maxAgeMs),
    node: (name) => nodes.get(name),
    onEndpointsChange: (listener) => slices.onChange(listener),
    isSynced,
    waitForSync,
    async start() {
      all.forEach((r) => r.start());
      const synced = await waitForSync(opts.syncTimeout ?? 10_000);
      if (!synced)
        logger.warn('caches not synced yet; still trying (the gateway reports unready until they are)');
    },
    async stop() {
      await Promise.all(all.map((r) => r.stop()));
    },
    stats: () => ({
      synced: isSynced(),
      services: services.size,
      endpointSlices: slices.cache.size,
      endpoints: slices.endpointCount(),
      reflectors: {
        services: reflectorStats(reflectors.services),
        endpointslices: reflectorStats(reflectors.endpointslices),
      },
      pods: { ...pods.stats },
      nodes: { ...nodes.stats },
    }),
  };
}
