import type { V1EndpointSlice, V1Node, V1Pod, V1Service } from '@kubernetes/client-node';

/**
 * What the request path may ask about the cluster. Reads of Services and
 * EndpointSlices are synchronous (served from watch-backed caches); Pods and
 * Nodes are looked up on demand with a short cache, so a large cluster's pods
 * are never all held in memory.
 */
export interface ClusterState {
  service(namespace: string, name: string): V1Service | undefined;
  /** The EndpointSlices labelled `kubernetes.io/service-name=<service>` in the namespace. */
  endpointSlices(namespace: string, service: string): readonly V1EndpointSlice[];
  /** Every known Service (for the portal). */
  services(): readonly V1Service[];
  /** True when the namespace holds a Service: a name the cluster knows (bounded metric labels). */
  knowsNamespace(namespace: string): boolean;
  /** A Pod, from a short cache; `maxAgeMs` asks for an answer at most that old (0: ask the API server). */
  pod(namespace: string, name: string, maxAgeMs?: number): Promise<V1Pod | undefined>;
  node(name: string): Promise<V1Node | undefined>;
  /** Invoked whenever the EndpointSlices of a Service change. */
  onEndpointsChange(listener: (namespace: string, service: string) => void): void;
  /** True once the caches have synced (and remain fresh enough to serve). */
  isSynced(): boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
}
