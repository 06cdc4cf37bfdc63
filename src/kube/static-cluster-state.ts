/**
 * ClusterState for `kubernetes: none` (the demo, local use): the Services of
 * `static.services` as the objects a cluster would hold — a Service, its
 * EndpointSlices with every endpoint ready, and one synthetic Pod per
 * endpoint (the slices' targetRef) — so the ordinary resolution path,
 * including its "endpoint belongs to a pod" check, serves them unchanged.
 *
 * `ip:port` sets the endpoint's port for every port of the Service; a bare IP
 * uses each port's targetPort (or port).
 */
import { isIP } from 'node:net';
import type { V1EndpointSlice, V1Pod, V1Service } from '@kubernetes/client-node';
import type { StaticServiceConfig } from '../config/schema.js';
import type { ClusterState } from './cluster-state.js';
import { SERVICE_NAME_LABEL } from './endpoint-slice-index.js';
import { objectKey } from './object-cache.js';

interface StaticObjects {
  service: V1Service;
  slices: V1EndpointSlice[];
  pods: V1Pod[];
}

function synthesize(svc: StaticServiceConfig): StaticObjects {
  const { namespace, name } = svc;
  const selector = { app: name };
  const service: V1Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      namespace,
      name,
      labels: svc.labels,
      uid: `static-${namespace}-${name}`,
      resourceVersion: '1',
    },
    spec: {
      type: 'ClusterIP',
      selector,
      ports: svc.ports.map((p) => ({
        name: p.name || undefined,
        port: p.port,
        targetPort: (p.targetPort ?? p.port) as never,
        protocol: 'TCP',
        appProtocol: p.appProtocol,
      })),
    },
  };
  // One slice per (address family, explicit port): EndpointSlice ports are per slice.
  const groups = new Map<
    string,
    { family: 'IPv4' | 'IPv6'; port?: number; endpoints: V1EndpointSlice['endpoints'] }
  >();
  const pods: V1Pod[] = [];
  svc.endpoints.forEach((parsed, i) => {
    const family = isIP(parsed.ip) === 6 ? 'IPv6' : 'IPv4';
    const key = `${family}:${parsed.port ?? ''}`;
    if (!groups.has(key)) groups.set(key, { family, port: parsed.port, endpoints: [] });
    const podName = `${name}-static-${i}`;
    groups.get(key)!.endpoints.push({
      addresses: [parsed.ip],
      conditions: { ready: true, serving: true, terminating: false },
      targetRef: { kind: 'Pod', namespace, name: podName },
    });
    pods.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { namespace, name: podName, labels: selector, resourceVersion: '1' },
      spec: {
        containers: [
          {
            name: 'main',
            ports: svc.ports.map((p) => ({
              containerPort: parsed.port ?? p.targetPort ?? p.port,
              protocol: 'TCP',
            })),
          },
        ],
      },
      status: { phase: 'Running', podIP: parsed.ip, podIPs: [{ ip: parsed.ip }] },
    });
  });
  const slices = [...groups.values()].map((group, i): V1EndpointSlice => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      namespace,
      name: `${name}-static-${i}`,
      labels: { [SERVICE_NAME_LABEL]: name },
      resourceVersion: '1',
    },
    addressType: group.family,
    endpoints: group.endpoints,
    ports: svc.ports.map((p) => ({
      name: p.name,
      port: group.port ?? p.targetPort ?? p.port,
      protocol: 'TCP',
      appProtocol: p.appProtocol,
    })),
  }));
  return { service, slices, pods };
}

/** The endpoints are addresses already: the config schema parsed them (`static.services[].endpoints`). */
export function createStaticClusterState(config: readonly StaticServiceConfig[]): ClusterState {
  const services = new Map<string, V1Service>();
  const slices = new Map<string, readonly V1EndpointSlice[]>();
  const pods = new Map<string, V1Pod>();
  config.forEach((svc) => {
    const objects = synthesize(svc);
    const key = objectKey(svc.namespace, svc.name);
    services.set(key, objects.service);
    slices.set(key, Object.freeze(objects.slices));
    for (const pod of objects.pods) pods.set(objectKey(svc.namespace, pod.metadata!.name), pod);
  });
  const all = Object.freeze([...services.values()]);
  const namespaces = new Set(config.map((svc) => svc.namespace));
  return {
    service: (namespace, name) => services.get(objectKey(namespace, name)),
    endpointSlices: (namespace, service) => slices.get(objectKey(namespace, service)) ?? [],
    services: () => all,
    knowsNamespace: (namespace) => namespaces.has(namespace),
    pod: (namespace, name) => Promise.resolve(pods.get(objectKey(namespace, name))),
    node: () => Promise.resolve(undefined),
    // Static services never change while running.
    onEndpointsChange: () => undefined,
    isSynced: () => true,
    start: () => Promise.resolve(),
    stop: () => Promise.resolve(),
  };
}
