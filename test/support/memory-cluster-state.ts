/**
 * Cluster state held in memory, for tests of target resolution without any
 * socket (STYLE.md: "target resolution must be testable without sockets").
 * The integration suites use the fake API server and the real client instead.
 */
import type { V1EndpointSlice, V1Node, V1Pod, V1Service } from '@kubernetes/client-node';
import type { ClusterState } from '../../src/kube/cluster-state.js';

export function memoryClusterState(objects: {
  services?: V1Service[];
  slices?: V1EndpointSlice[];
  pods?: V1Pod[];
  nodes?: V1Node[];
}): ClusterState {
  const key = (ns: string | undefined, name: string | undefined) => `${ns ?? ''}/${name ?? ''}`;
  const services = new Map(
    (objects.services ?? []).map((s) => [key(s.metadata?.namespace, s.metadata?.name), s]),
  );
  const pods = new Map((objects.pods ?? []).map((p) => [key(p.metadata?.namespace, p.metadata?.name), p]));
  const nodes = new Map((objects.nodes ?? []).map((n) => [n.metadata?.name ?? '', n]));
  const slices = objects.slices ?? [];
  return {
    service: (ns, name) => services.get(key(ns, name)),
    endpointSlices: (ns, svc) =>
      slices.filter(
        (s) => s.metadata?.namespace === ns && s.metadata?.labels?.['kubernetes.io/service-name'] === svc,
      ),
    services: () => [...services.values()],
    knowsNamespace: (ns) => [...services.values()].some((s) => s.metadata?.namespace === ns),
    pod: (ns, name) => Promise.resolve(pods.get(key(ns, name))),
    node: (name) => Promise.resolve(nodes.get(name)),
    onEndpointsChange: () => {},
    isSynced: () => true,
    start: () => Promise.resolve(),
    stop: () => Promise.resolve(),
  };
}
