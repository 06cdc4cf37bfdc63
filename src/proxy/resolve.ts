/**
 * Where a proxy request goes: ProxyPath + cluster state → Target. No sockets
 * here (the apiserver's `ResourceLocation`), so it is tested without any.
 * Messages and status codes follow kube-apiserver (apiserver-proxy.md §2–§4).
 */
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import { isIP } from 'node:net';
import { badRequest, notFound, serviceUnavailable } from '../errors.js';
import type { ClusterState } from '../kube/cluster-state.js';
import type { AddressPolicy } from './address-policy.js';
import type { ProxyPath } from '../request/proxy-path.js';
import { resolveNodeTarget, type NodeResolveOptions } from './node-target.js';
import { PodAddressCheck, type PodCheckResult } from './pod-address-check.js';
import { ServiceEndpoints } from './service-endpoints.js';
import type { Endpoint, Target } from '../request/target.js';

export interface ResolveOptions extends NodeResolveOptions {
  state: ClusterState;
  mayDial: AddressPolicy;
  /** Accept endpoints without a Pod targetRef (selector-less Services). */
  allowSelectorless: boolean;
  /** How long an endpoint confirmed to belong to its Pod is trusted before the Pod is read again (ms). */
  endpointRecheckMs?: number;
  /** Told of every Pod-owns-IP answer (metrics). */
  onPodCheck?: (result: PodCheckResult) => void;
  /** Monotonic ms for the recheck and retry intervals; performance.now by default (tests advance it). */
  now?: () => number;
}

const ADDRESS_NOT_ALLOWED = () => badRequest('address not allowed');

export function createTargetResolver(o: ResolveOptions) {
  const recheckAfterMs = o.endpointRecheckMs ?? 300_000;
  const check = new PodAddressCheck({
    pod: (namespace, name, maxAgeMs) => o.state.pod(namespace, name, maxAgeMs),
    recheckAfterMs,
    onResult: o.onPodCheck,
    now: o.now,
  });
  const endpoints = new ServiceEndpoints({ ...o, check, recheckAfterMs });
  /** A Service whose endpoints are known answers at once (no promise); errors always come as a rejection. */
  function resolveTarget(path: ProxyPath): Target | Promise<Target> {
    try {
      switch (path.kind) {
        case 'services':
          return resolveServiceTarget(path, { state: o.state, endpoints });
        case 'pods':
          return o.state.pod(path.namespace, path.name).then((pod) => resolvePodTarget(path, pod, o.mayDial));
        case 'nodes':
          return o.state.node(path.name).then((node) => resolveNodeTarget(path, node, o));
      }
    } catch (err) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passed on as thrown (GatewayErrors)
      return Promise.reject(err);
    }
  }
  /** Endpoint-to-Pod confirmations held (a bounded cache, for kube_bastion_cache_entries). */
  return Object.assign(resolveTarget, { podConfirmations: () => check.size });
}

/** The service port *name* the request selects, or a GatewayError. */
export function servicePortName(service: V1Service, path: ProxyPath): string {
  const ports = service.spec?.ports ?? [];
  if (path.port === '') {
    // Improvement over the apiserver: a single-port Service is reachable as plain `name`.
    return ports.length === 1 ? (ports[0].name ?? '') : '';
  }
  if (/^\d+$/.test(path.port)) {
    const n = Number(path.port);
    const match = ports.find((p) => p.port === n);
    if (!match) throw serviceUnavailable(`no service port ${n} found for service "${path.name}"`);
    return match.name ?? '';
  }
  return path.port;
}

/** Throws (at once) what the Service and its slices rule out; the endpoints may need waiting for. */
export function resolveServiceTarget(
  path: ProxyPath,
  o: { state: ClusterState; endpoints: ServiceEndpoints },
): Target | Promise<Target> {
  const service = o.state.service(path.namespace, path.name);
  if (!service) throw notFound('services', path.name);
  const portName = servicePortName(service, path);
  const slices = o.state.endpointSlices(path.namespace, path.name);
  if (slices.length === 0) throw serviceUnavailable(`no endpoints available for service "${path.name}"`);
  const known = o.endpoints.known(slices, portName, path.namespace);
  if (known) return serviceTarget(path, service, portName, known);
  return o.endpoints
    .endpoints(slices, portName, path.namespace)
    .then((endpoints) => serviceTarget(path, service, portName, endpoints));
}

function serviceTarget(
  path: ProxyPath,
  service: V1Service,
  portName: string,
  endpoints: readonly Endpoint[],
): Target {
  if (endpoints.length === 0)
    throw serviceUnavailable(`no endpoints available for service "${path.segment}"`);
  const affinity =
    service.spec?.sessionAffinity === 'ClientIP'
      ? { timeoutSeconds: service.spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10800 }
      : undefined;
  return {
    kind: 'services',
    namespace: path.namespace,
    name: path.name,
    segment: path.segment,
    scheme: path.scheme === 'https' ? 'https' : 'http',
    endpoints,
    path: path.path,
    affinity,
    trafficDistribution: service.spec?.trafficDistribution,
    key: `services/${path.namespace}/${path.name}:${portName}`,
    servicePort: service.spec?.ports?.find((p) => (p.name ?? '') === portName)?.port,
  };
}

/** The first declared port of the first container that declares any (init containers do not count). */
function defaultPodPort(pod: V1Pod): number | undefined {
  for (const c of pod.spec?.containers ?? []) {
    if (c.ports?.length) return c.ports[0].containerPort;
  }
  return undefined;
}

function podPort(pod: V1Pod, path: ProxyPath): number {
  if (path.port === '') return defaultPodPort(pod) ?? (path.scheme === 'https' ? 443 : 80);
  if (/^\d+$/.test(path.port)) {
    const n = Number(path.port);
    if (n < 1 || n > 65535) throw badRequest(`invalid pod request "${path.segment}"`);
    return n;
  }
  // The apiserver panics on a named pod port; resolve it against the containers instead.
  for (const c of pod.spec?.containers ?? []) {
    const match = c.ports?.find((p) => p.name === path.port);
    if (match) return match.containerPort;
  }
  throw badRequest(`pod "${path.name}" has no container port named "${path.port}"`);
}

export function resolvePodTarget(path: ProxyPath, pod: V1Pod | undefined, mayDial: AddressPolicy): Target {
  if (!pod) throw notFound('pods', path.name);
  const ip = pod.status?.podIPs?.[0]?.ip ?? pod.status?.podIP;
  if (!ip || !isIP(ip) || !mayDial(ip)) throw ADDRESS_NOT_ALLOWED();
  const port = podPort(pod, path);
  return {
    kind: 'pods',
    namespace: path.namespace,
    name: path.name,
    segment: path.segment,
    scheme: path.scheme === 'https' ? 'https' : 'http',
    endpoints: [
      {
        ip,
        port,
        ready: true,
        serving: true,
        terminating: false,
        nodeName: pod.spec?.nodeName,
        pod: `${path.namespace}/${path.name}`,
      },
    ],
    path: path.path,
    key: `pods/${path.namespace}/${path.name}:${port}`,
  };
}
