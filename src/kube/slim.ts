/**
 * What the caches keep of a Service, an EndpointSlice, a Pod or a Node: the
 * fields that routing, balancing and the portal read, nothing else. Real
 * objects carry `managedFields`, `kubectl.kubernetes.io/last-applied-configuration`,
 * status and (Nodes) image lists that are often several times larger than the
 * rest; holding them for every Service of a large cluster is most of the
 * gateway's memory. Repeated values are shared (intern.ts): a namespace,
 * zone, node name, port or set of endpoint conditions is held once, not once
 * per endpoint.
 *
 * The functions take the API server's JSON (or objects of the same shape).
 * Keep this list in step with src/proxy/resolve.ts, service-endpoints.ts,
 * pod-address-check.ts, node-target.ts, src/kube/endpoint-slice-index.ts and
 * src/web/portal: a field left out here reads as undefined there.
 */
import type {
  DiscoveryV1EndpointPort,
  V1Endpoint,
  V1EndpointConditions,
  V1EndpointHints,
  V1EndpointSlice,
  V1Node,
  V1ObjectMeta,
  V1Pod,
  V1Service,
  V1ServicePort,
} from '@kubernetes/client-node';
import { SERVICE_NAME_LABEL } from './endpoint-slice-index.js';
import { intern, InternTable, shared } from './intern.js';

function meta(m: V1ObjectMeta | undefined, labels?: Record<string, string>): V1ObjectMeta {
  return { name: m?.name, namespace: intern(m?.namespace), resourceVersion: m?.resourceVersion, labels };
}

const servicePorts = new InternTable<V1ServicePort>();
const servicePort = (p: V1ServicePort): V1ServicePort =>
  shared(
    servicePorts,
    `${p.name}|${p.port}|${typeof p.targetPort}:${p.targetPort}|${p.protocol}|${p.appProtocol}`,
    () => ({
      name: p.name,
      port: p.port,
      targetPort: p.targetPort,
      protocol: p.protocol,
      appProtocol: p.appProtocol,
    }),
  );

export function slimService(svc: V1Service): V1Service {
  const s = svc.spec;
  return {
    metadata: meta(svc.metadata),
    spec: s && {
      ports: s.ports?.map(servicePort),
      sessionAffinity: intern(s.sessionAffinity),
      sessionAffinityConfig: s.sessionAffinityConfig,
      trafficDistribution: intern(s.trafficDistribution),
    },
  };
}

const endpointPorts = new InternTable<DiscoveryV1EndpointPort>();
const endpointPort = (p: DiscoveryV1EndpointPort): DiscoveryV1EndpointPort =>
  shared(endpointPorts, `${p.name}|${p.port}|${p.protocol}|${p.appProtocol}`, () => ({
    name: p.name,
    port: p.port,
    protocol: p.protocol,
    appProtocol: p.appProtocol,
  }));

const conditions = new InternTable<V1EndpointConditions>();
const hints = new InternTable<V1EndpointHints>();

const endpointConditions = (c: V1EndpointConditions): V1EndpointConditions =>
  shared(conditions, `${c.ready}|${c.serving}|${c.terminating}`, () => ({
    ready: c.ready,
    serving: c.serving,
    terminating: c.terminating,
  }));

const endpoint = (e: V1Endpoint): V1Endpoint => ({
  addresses: e.addresses,
  conditions: e.conditions && endpointConditions(e.conditions),
  targetRef: e.targetRef && {
    kind: intern(e.targetRef.kind),
    name: e.targetRef.name,
    namespace: intern(e.targetRef.namespace),
  },
  zone: intern(e.zone),
  hints: e.hints && shared(hints, JSON.stringify(e.hints), () => e.hints!),
  nodeName: intern(e.nodeName),
});

export function slimEndpointSlice(slice: V1EndpointSlice): V1EndpointSlice {
  const service = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
  return {
    metadata: meta(slice.metadata, service === undefined ? undefined : { [SERVICE_NAME_LABEL]: service }),
    addressType: intern(slice.addressType),
    endpoints: (slice.endpoints ?? []).map(endpoint),
    ports: slice.ports?.map(endpointPort),
  };
}

/** A Pod as the proxy reads it: its IPs, node, container ports, and whether it is going away. */
export function slimPod(pod: V1Pod): V1Pod {
  const { metadata: m, spec, status } = pod;
  return {
    metadata: m && {
      ...meta(m),
      uid: m.uid,
      deletionTimestamp: m.deletionTimestamp,
    },
    spec: spec && {
      nodeName: intern(spec.nodeName),
      containers: (spec.containers ?? []).map((c) => ({
        name: c.name,
        ports: c.ports?.map((p) => ({ name: p.name, containerPort: p.containerPort, protocol: p.protocol })),
      })),
    },
    status: status && { phase: status.phase, podIP: status.podIP, podIPs: status.podIPs },
  };
}

/** A Node as the proxy reads it: labels, addresses and the kubelet's port (not its image list). */
export function slimNode(node: V1Node): V1Node {
  const { metadata: m, status } = node;
  return {
    metadata: m && { name: m.name, resourceVersion: m.resourceVersion, labels: m.labels },
    status: status && { addresses: status.addresses, daemonEndpoints: status.daemonEndpoints },
  };
}
