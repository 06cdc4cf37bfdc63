/**
 * What the watch caches keep of a Service or an EndpointSlice: the fields that
 * routing, balancing and the portal read, nothing else. Real objects carry
 * `managedFields`, `kubectl.kubernetes.io/last-applied-configuration` and
 * status that are often several times larger than the rest; holding them for
 * every Service of a large cluster is most of the gateway's memory.
 *
 * The functions take either the API server's JSON or client-node's model
 * objects (their field names are the same for everything kept here), so watch
 * events skip the model deserializer altogether. Keep this list in step with
 * src/proxy/resolve.ts, src/kube/endpoint-slice-index.ts and src/web/portal.
 */
import type {
  V1Endpoint,
  DiscoveryV1EndpointPort,
  V1EndpointSlice,
  V1ObjectMeta,
  V1Service,
  V1ServicePort,
} from '@kubernetes/client-node';
import { SERVICE_NAME_LABEL } from './endpoint-slice-index.js';

function meta(m: V1ObjectMeta | undefined, labels?: Record<string, string>): V1ObjectMeta {
  return { name: m?.name, namespace: m?.namespace, resourceVersion: m?.resourceVersion, labels };
}

const servicePort = (p: V1ServicePort): V1ServicePort => ({
  name: p.name,
  port: p.port,
  targetPort: p.targetPort,
  protocol: p.protocol,
  appProtocol: p.appProtocol,
});

export function slimService(svc: V1Service): V1Service {
  const s = svc.spec;
  return {
    metadata: meta(svc.metadata),
    spec: s && {
      ports: s.ports?.map(servicePort),
      sessionAffinity: s.sessionAffinity,
      sessionAffinityConfig: s.sessionAffinityConfig,
      trafficDistribution: s.trafficDistribution,
    },
  };
}

const endpointPort = (p: DiscoveryV1EndpointPort): DiscoveryV1EndpointPort => ({
  name: p.name,
  port: p.port,
  protocol: p.protocol,
  appProtocol: p.appProtocol,
});

const endpoint = (e: V1Endpoint): V1Endpoint => ({
  addresses: e.addresses,
  conditions: e.conditions,
  targetRef: e.targetRef && {
    kind: e.targetRef.kind,
    name: e.targetRef.name,
    namespace: e.targetRef.namespace,
  },
  zone: e.zone,
  hints: e.hints,
  nodeName: e.nodeName,
});

export function slimEndpointSlice(slice: V1EndpointSlice): V1EndpointSlice {
  const service = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
  return {
    metadata: meta(slice.metadata, service === undefined ? undefined : { [SERVICE_NAME_LABEL]: service }),
    addressType: slice.addressType,
    endpoints: (slice.endpoints ?? []).map(endpoint),
    ports: slice.ports?.map(endpointPort),
  };
}
