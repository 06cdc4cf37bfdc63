/**
 * The metrics that are read, not counted: at scrape time, from the cluster
 * state and the pipeline (see GaugeSources in observability/metrics.ts).
 */
import type { ClusterState } from '../kube/cluster-state.js';
import type { ClusterStateStats } from '../kube/kube-cluster-state.js';
import type { GaugeSources } from '../observability/metrics.js';

/** Ready endpoints of every known Service (an address counts once per slice it is in). */
export function* serviceEndpoints(state: ClusterState): Generator<{
  namespace: string;
  service: string;
  endpoints: number;
}> {
  for (const svc of state.services()) {
    const namespace = svc.metadata?.namespace ?? '';
    const service = svc.metadata?.name ?? '';
    let endpoints = 0;
    for (const slice of state.endpointSlices(namespace, service)) {
      for (const ep of slice.endpoints ?? []) if (ep.conditions?.ready ?? true) endpoints++;
    }
    yield { namespace, service, endpoints };
  }
}

type StatsOf = Pick<ClusterStateStats, 'services' | 'endpointSlices' | 'endpoints' | 'pods' | 'nodes'>;

/** The Kubernetes-backed state reports its caches' sizes; the others hold no per-key caches. */
function statsOf(state: ClusterState): StatsOf | undefined {
  const withStats = state as ClusterState & { stats?: () => StatsOf };
  return typeof withStats.stats === 'function' ? withStats.stats() : undefined;
}

function cacheObjects(state: ClusterState): ReturnType<GaugeSources['cacheObjects']> {
  const s = statsOf(state);
  return s ? { services: s.services, endpointslices: s.endpointSlices, endpoints: s.endpoints } : {};
}

export function gaugeSources(
  state: ClusterState,
  inFlight: () => number,
  upgradesOpen: () => number,
  /** The per-key caches outside the cluster state, by name. */
  caches: () => Record<string, number> = () => ({}),
): GaugeSources {
  return {
    inFlight,
    upgradesOpen,
    cacheSynced: () => state.isSynced(),
    serviceEndpoints: () => serviceEndpoints(state),
    cacheObjects: () => cacheObjects(state),
    cacheEntries: () => {
      const s = statsOf(state);
      return { ...(s && { pods: s.pods.entries, nodes: s.nodes.entries }), ...caches() };
    },
    knowsNamespace: (namespace) => state.knowsNamespace(namespace),
  };
}
