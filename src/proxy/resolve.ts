/**
 * Where a proxy request goes: ProxyPath + cluster state → Target. No sockets
 * here (the apiserver's `ResourceLocation`), so it is tested without any.
 * Messages and status codes follow kube-apiserver (apiserver-proxy.md §2–§4).
 */
import type { V1EndpointSlice, V1ObjectReference, V1Pod, V1Service } from '@kubernetes/client-node';
import { isIP } from 'node:net';
import { badRequest, notFound, serviceUnavailable } from '../errors.js';
import type { ClusterState } from '../kube/cluster-state.js';
import type { AddressPolicy } from './address-policy.js';
import type { ProxyPath } from './grammar.js';
import { resolveNodeTarget, type NodeResolveOptions } from './node-target.js';
import type { Endpoint, Target } from './target.js';

export interface ResolveOptions extends NodeResolveOptions {
  state: ClusterState;
  mayDial: AddressPolicy;
  /** Accept endpoints without a Pod targetRef (selector-less Services). */
  allowSelectorless: boolean;
}

const ADDRESS_NOT_ALLOWED = () => badRequest('address not allowed');

export function createTargetResolver(options: ResolveOptions) {
  const o = { ...options, endpointCache: new WeakMap() };
  return async function resolveTarget(path: ProxyPath): Promise<Target> {
    switch (path.kind) {
      case 'services':
        return resolveServiceTarget(path, o);
      case 'pods':
        return resolvePodTarget(path, await o.state.pod(path.namespace, path.name), o.mayDial);
      case 'nodes':
        return resolveNodeTarget(path, await o.state.node(path.name), o);
    }
  };
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

/**
 * Endpoints computed from one (frozen, replaced-on-change) slices array, by
 * port name: most requests find their Service's slices unchanged, so they
 * reuse the list — and the balancer sees the same array and keeps its state.
 */
export type EndpointCache = WeakMap<readonly V1EndpointSlice[], Map<string, readonly Endpoint[]>>;

type ServiceResolveOptions = Pick<ResolveOptions, 'state' | 'mayDial' | 'allowSelectorless'> & {
  endpointCache?: EndpointCache;
};

function endpointsOf(
  slices: readonly V1EndpointSlice[],
  portName: string,
  namespace: string,
  o: ServiceResolveOptions,
): readonly Endpoint[] {
  let byPort = o.endpointCache?.get(slices);
  const cached = byPort?.get(portName);
  if (cached) return cached;
  const endpoints: Endpoint[] = [];
  for (const slice of slices) collectEndpoints(slice, portName, namespace, o, endpoints);
  if (o.endpointCache) {
    if (!byPort) o.endpointCache.set(slices, (byPort = new Map<string, readonly Endpoint[]>()));
    byPort.set(portName, Object.freeze(endpoints));
  }
  return endpoints;
}

export function resolveServiceTarget(path: ProxyPath, o: ServiceResolveOptions): Target {
  const service = o.state.service(path.namespace, path.name);
  if (!service) throw notFound('services', path.name);
  const portName = servicePortName(service, path);
  const slices = o.state.endpointSlices(path.namespace, path.name);
  if (slices.length === 0) throw serviceUnavailable(`no endpoints available for service "${path.name}"`);

  const endpoints = endpointsOf(slices, portName, path.namespace, o);
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
  };
}

/**
 * The apiserver's `isValidAddress` minus its Pod lookup: the targetRef must
 * name a Pod, by name, in exactly the Service's namespace. A missing namespace
 * is not read as "same namespace" — the EndpointSlice controller always
 * writes it, so only a hand-made slice omits it. (The Pod is not fetched to
 * confirm it owns the IP; docs/security.md says why.)
 */
export function isPodOfNamespace(ref: V1ObjectReference | undefined, namespace: string): boolean {
  return ref?.kind === 'Pod' && !!ref.name && ref.namespace === namespace;
}

/**
 * Adds the slice's usable endpoints for the port: the CVE-2021-25740 guard
 * (an endpoint must be backed by a Pod in the Service's namespace) and the
 * dial policy are applied here, so nothing later can pick a forbidden IP.
 */
function collectEndpoints(
  slice: V1EndpointSlice,
  portName: string,
  namespace: string,
  o: Pick<ResolveOptions, 'mayDial' | 'allowSelectorless'>,
  out: Endpoint[],
): void {
  if (slice.addressType === 'FQDN') return;
  const port = slice.ports?.find((p) => (p.name ?? '') === portName && p.port != null);
  if (!port) return;
  for (const ep of slice.endpoints) {
    const ip = ep.addresses[0];
    if (!ip || !isIP(ip) || !o.mayDial(ip)) continue;
    const backedByPod = isPodOfNamespace(ep.targetRef, namespace);
    if (!backedByPod && !o.allowSelectorless) continue;
    const ready = ep.conditions?.ready ?? true;
    out.push({
      ip,
      port: port.port!,
      ready,
      serving: ep.conditions?.serving ?? ready,
      terminating: ep.conditions?.terminating ?? false,
      zone: ep.zone,
      hintZones: ep.hints?.forZones?.map((z) => z.name),
      nodeName: ep.nodeName,
      pod: backedByPod ? `${namespace}/${ep.targetRef!.name}` : undefined,
    });
  }
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
