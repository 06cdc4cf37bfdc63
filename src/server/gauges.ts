/**
 * The metrics that are read, not counted: at scrape time, from the cluster
 * state and the pipeline (see GaugeSources in observability/metrics.ts).
 */
import type { ClusterState } from '../kube/cluster-state.js';
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

/** The watch caches' sizes, for a cluster state that reports them (the Kubernetes-backed one). */
function cacheObjects(state: ClusterState): ReturnType<GaugeSources['cacheObjects']> {
  const withStats = state as ClusterState & {
    stats?: () => { services: number; endpointSlices: number; endpoints: number };
  };
  if (typeof withStats.stats !== 'function') return {};
  const s = withStats.stats();
  return { services: s.services, endpointslices: s.endpointSlices, endpoints: s.endpoints };
}

export function gaugeSources(
  state: ClusterState,
  inFlight: () => number,
  upgradesOpen: () => number,
): GaugeSources {
  return {
    inFlight,
    upgradesOpen,
    cacheSynced: () => state.isSynced(),
    serviceEndpoints: () => serviceEndpoints(state),
    cacheObjects: () => cacheObjects(state),
  };
}
