/** A resolved place to send a request: the output of target resolution. */
export type TargetKind = 'services' | 'pods' | 'nodes';

/** One backend address, with what the balancer needs to choose among several. */
export interface Endpoint {
  /** IP address (v4 or v6, without brackets). */
  ip: string;
  port: number;
  /** `ready`, `serving` and `terminating` as in EndpointSlice conditions. */
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  zone?: string;
  /** Zones named by topology hints (`hints.forZones`). */
  hintZones?: string[];
  nodeName?: string;
  /** `namespace/name` of the backing pod, when known. */
  pod?: string;
}

export interface Target {
  kind: TargetKind;
  namespace: string;
  /** Service, pod or node name. */
  name: string;
  /** The name segment as the client wrote it (`notready:http`): what "no endpoints" messages quote. */
  segment: string;
  scheme: 'http' | 'https';
  /** Candidates; one element for pods and nodes. */
  endpoints: readonly Endpoint[];
  /** Upstream path (already cleaned) without the query. */
  path: string;
  /** Service session affinity, when `spec.sessionAffinity: ClientIP`. */
  affinity?: { timeoutSeconds: number };
  /** Service `spec.trafficDistribution`. */
  trafficDistribution?: string;
  /** A stable key for per-target state (balancer, metrics): `services/ns/name:port`. */
  key: string;
  /** Services: the Service port the request selected (links to the Service's DNS name at it are this target). */
  servicePort?: number;
}
