/**
 * Builders for the objects tests put in the fake API server, shaped like
 * what kube-controller-manager and the kubelet write.
 */
import { randomBytes } from 'node:crypto';
import type { V1EndpointSlice, V1Node, V1ObjectReference, V1Pod, V1Service } from '@kubernetes/client-node';

export interface ServicePortSpec {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol?: string;
  appProtocol?: string;
}

export interface ServiceOptions {
  selector?: Record<string, string> | null;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  type?: string;
  clusterIP?: string;
  externalName?: string;
  sessionAffinity?: 'None' | 'ClientIP';
  sessionAffinityTimeoutSeconds?: number;
  trafficDistribution?: string;
  ipFamilies?: string[];
}

/** A Service; a bare number is an unnamed port. The selector defaults to `app: <name>`. */
export function service(
  namespace: string,
  name: string,
  ports: ReadonlyArray<ServicePortSpec | number>,
  opts: ServiceOptions = {},
): V1Service {
  const spec: V1Service['spec'] = {
    type: opts.type ?? 'ClusterIP',
    clusterIP: opts.clusterIP ?? (opts.type === 'ExternalName' ? undefined : '10.96.0.10'),
    ports: ports.map((p) => {
      const spec = typeof p === 'number' ? { port: p } : p;
      return {
        name: spec.name,
        port: spec.port,
        targetPort: (spec.targetPort ?? spec.port) as never,
        protocol: spec.protocol ?? 'TCP',
        appProtocol: spec.appProtocol,
      };
    }),
    sessionAffinity: opts.sessionAffinity ?? 'None',
    ipFamilies: opts.ipFamilies ?? ['IPv4'],
  };
  if (opts.selector !== null) spec.selector = opts.selector ?? { app: name };
  if (opts.externalName) spec.externalName = opts.externalName;
  if (opts.trafficDistribution) spec.trafficDistribution = opts.trafficDistribution;
  if (opts.sessionAffinity === 'ClientIP') {
    spec.sessionAffinityConfig = {
      clientIP: { timeoutSeconds: opts.sessionAffinityTimeoutSeconds ?? 10800 },
    };
  }
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace, name, labels: opts.labels, annotations: opts.annotations },
    spec,
  };
}

export interface EndpointSpec {
  ip: string;
  /** Default true; `serving` defaults to `ready`, `terminating` to false. */
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
  zone?: string;
  nodeName?: string;
  /** Zones of `hints.forZones`. */
  hintZones?: string[];
  /** Name of the backing pod in the same namespace (targetRef); `null` for none. Default `<service>-<last octet>`. */
  pod?: string | null;
  /** targetRef.namespace: default the slice's own; another one (CVE-2021-25740), or `null` to omit it. */
  podNamespace?: string | null;
  /** targetRef.kind; default `Pod`. */
  refKind?: string;
}

export interface EndpointPortSpec {
  name?: string;
  port: number;
  protocol?: string;
  appProtocol?: string;
}

export interface EndpointSliceOptions {
  /** Default `<service>-<random5>`, as the EndpointSlice controller names them. */
  name?: string;
  addressType?: 'IPv4' | 'IPv6' | 'FQDN';
  labels?: Record<string, string>;
}

const randomSuffix = () => randomBytes(4).toString('hex').slice(0, 5);

function targetRef(e: EndpointSpec, namespace: string, name: string): V1ObjectReference {
  const ns = e.podNamespace === undefined ? namespace : e.podNamespace;
  return { kind: e.refKind ?? 'Pod', ...(ns === null ? {} : { namespace: ns }), name };
}

/** An EndpointSlice labelled `kubernetes.io/service-name=<service>`; a bare number is an unnamed port. */
export function endpointSlice(
  namespace: string,
  serviceName: string,
  endpoints: readonly EndpointSpec[],
  ports: ReadonlyArray<EndpointPortSpec | number>,
  opts: EndpointSliceOptions = {},
): V1EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      namespace,
      name: opts.name ?? `${serviceName}-${randomSuffix()}`,
      labels: {
        'kubernetes.io/service-name': serviceName,
        'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
        ...opts.labels,
      },
    },
    addressType: opts.addressType ?? (endpoints[0]?.ip.includes(':') ? 'IPv6' : 'IPv4'),
    endpoints: endpoints.map((e) => {
      const ready = e.ready ?? true;
      const pod = e.pod === undefined ? `${serviceName}-${e.ip.split(/[.:]/).pop()}` : e.pod;
      return {
        addresses: [e.ip],
        conditions: { ready, serving: e.serving ?? ready, terminating: e.terminating ?? false },
        zone: e.zone,
        nodeName: e.nodeName,
        hints: e.hintZones ? { forZones: e.hintZones.map((name) => ({ name })) } : undefined,
        targetRef: pod === null ? undefined : targetRef(e, namespace, pod),
      };
    }),
    ports: ports.map((p) => {
      const spec = typeof p === 'number' ? { port: p, name: '' } : p;
      return {
        name: spec.name ?? '',
        port: spec.port,
        protocol: spec.protocol ?? 'TCP',
        appProtocol: spec.appProtocol,
      };
    }),
  };
}

export interface ContainerPortSpec {
  name?: string;
  containerPort: number;
  protocol?: string;
}

export interface PodOptions {
  labels?: Record<string, string>;
  phase?: string;
  nodeName?: string;
  /** All pod IPs (status.podIPs); default `[ip]`. */
  ips?: string[];
  /** Extra containers (e.g. one without ports placed first). */
  containers?: Array<{ name: string; ports?: ContainerPortSpec[] }>;
}

/** A running pod with one container `main` declaring `containerPorts`; `ip` '' for a pod without an IP yet. */
export function pod(
  namespace: string,
  name: string,
  ip: string,
  containerPorts: ReadonlyArray<ContainerPortSpec | number> = [],
  opts: PodOptions = {},
): V1Pod {
  const ports = containerPorts.map((p) =>
    typeof p === 'number' ? { containerPort: p, protocol: 'TCP' } : p,
  );
  const ips = opts.ips ?? (ip ? [ip] : []);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { namespace, name, labels: opts.labels },
    spec: {
      nodeName: opts.nodeName,
      containers: [...(opts.containers ?? []), { name: 'main', image: 'example/app:1', ports }],
    },
    status: {
      phase: opts.phase ?? (ip ? 'Running' : 'Pending'),
      podIP: ips[0],
      podIPs: ips.map((i) => ({ ip: i })),
    },
  };
}

/**
 * The usual world of a test: Service `name` with one port `http` (80 → `port`), its EndpointSlice with one
 * endpoint at `ip`, and the Pod `<name>-0` that owns that IP.
 */
export function webService(namespace: string, name: string, ip: string, port: number): KubeObjectOf[] {
  return [
    service(namespace, name, [{ name: 'http', port: 80, targetPort: port }]),
    endpointSlice(namespace, name, [{ ip, pod: `${name}-0` }], [{ name: 'http', port }]),
    pod(namespace, `${name}-0`, ip, [port]),
  ];
}

type KubeObjectOf = ReturnType<typeof service> | ReturnType<typeof endpointSlice> | ReturnType<typeof pod>;

export interface NodeAddressSpec {
  type: string;
  address: string;
}

/**
 * A node; a string address is its only address, of type InternalIP (no Hostname address, so resolving it
 * needs no DNS). Pass a list for Hostname/ExternalIP variants.
 */
export function node(
  name: string,
  addresses: string | readonly NodeAddressSpec[],
  kubeletPort = 10250,
  opts: { labels?: Record<string, string> } = {},
): V1Node {
  const list = typeof addresses === 'string' ? [{ type: 'InternalIP', address: addresses }] : [...addresses];
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...opts.labels } },
    status: { addresses: list, daemonEndpoints: { kubeletEndpoint: { Port: kubeletPort } } },
  };
}

export interface SyntheticClusterShape {
  services: number;
  endpointsPerService: number;
  namespaces?: number;
}

/**
 * A large cluster for benchmarks: `services` Services (port `http` 80 →
 * 8080) spread over `namespaces`, each with one EndpointSlice of
 * `endpointsPerService` ready endpoints (unique 10.x.y.z addresses). Pods are
 * not created (look them up on demand, or add the few a benchmark needs).
 */
export function syntheticCluster(shape: SyntheticClusterShape): Array<V1Service | V1EndpointSlice> {
  const objects: Array<V1Service | V1EndpointSlice> = [];
  const namespaces = shape.namespaces ?? 100;
  let address = 0;
  for (let i = 0; i < shape.services; i++) {
    const ns = `ns-${i % namespaces}`;
    const name = `svc-${i}`;
    const endpoints = Array.from({ length: shape.endpointsPerService }, () => {
      address++;
      return {
        ip: `10.${(address >> 16) & 255}.${(address >> 8) & 255}.${address & 255}`,
        pod: `${name}-${address}`,
      };
    });
    objects.push(
      service(ns, name, [{ name: 'http', port: 80, targetPort: 8080 }]),
      endpointSlice(ns, name, endpoints, [{ name: 'http', port: 8080 }], { name: `${name}-00000` }),
    );
  }
  return objects;
}
