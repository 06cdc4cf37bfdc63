/** Where cluster state comes from: a cluster (in-cluster or kubeconfig), or Services listed in the file. */
import { isIP } from 'node:net';
import { z } from 'zod';
import { describe, duration, nonEmpty, port } from './primitives.js';

// --- kubernetes / static ----------------------------------------------------

/** kube-apiserver's default `--kubelet-preferred-address-types`, in its order. */
const NODE_ADDRESS_TYPES = ['Hostname', 'InternalDNS', 'InternalIP', 'ExternalDNS', 'ExternalIP'] as const;

const kubernetesCluster = z.strictObject({
  kubeconfig: describe(
    z.string().optional(),
    'kubeconfig file; default: in-cluster config, then $KUBECONFIG, then ~/.kube/config',
  ),
  context: describe(z.string().optional(), 'kubeconfig context to use'),
  podCacheTTL: describe(duration('5s'), 'how long a looked-up Pod is reused'),
  nodeCacheTTL: describe(duration('30s'), 'how long a looked-up Node is reused'),
  endpointRecheck: describe(
    duration('5m'),
    'how long an endpoint confirmed to belong to its Pod (the Pod lists the IP, as the apiserver checks) ' +
      'is trusted before the Pod is read again; a Pod that no longer holds the IP is dropped then',
  ),
  kubeletPreferredAddressTypes: describe(
    z
      .array(z.enum(NODE_ADDRESS_TYPES))
      .min(1, 'must name at least one address type')
      .refine((types) => new Set(types).size === types.length, { message: 'must not repeat a type' })
      .default([...NODE_ADDRESS_TYPES]),
    "node proxy: which node address to dial, in order of preference, as kube-apiserver's " +
      '`--kubelet-preferred-address-types`; a name that does not resolve gives way to the next type',
    [['InternalIP', 'Hostname']],
  ),
});

export const kubernetes = describe(
  z.union([z.literal('none'), kubernetesCluster]).prefault({}),
  'where cluster state comes from: an object (in-cluster or kubeconfig) or "none" to serve only `static.services`',
  ['none', { kubeconfig: '/etc/kube-bastion/kubeconfig', context: 'staging' }],
);

export interface EndpointAddress {
  ip: string;
  /** Set by `ip:port`: the backend port for every port of the Service. */
  port?: number;
}

/** `10.0.0.1`, `10.0.0.1:8080`, `::1`, `[::1]:8080`; undefined for anything else (a host name, a bad port). */
export function parseEndpointAddress(text: string): EndpointAddress | undefined {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  const v4 = /^([^:]+)(?::(\d+))?$/.exec(text);
  const [ip, port] = bracketed ? [bracketed[1], bracketed[2]] : v4 ? [v4[1], v4[2]] : [text, undefined];
  if (!ip || !isIP(ip)) return undefined;
  if (port === undefined) return { ip };
  const n = Number(port);
  return n >= 1 && n <= 65535 ? { ip, port: n } : undefined;
}

const endpointAddress = nonEmpty.transform((text, ctx) => {
  const parsed = parseEndpointAddress(text);
  if (parsed) return parsed;
  ctx.addIssue({
    code: 'custom',
    message: `"${text}" is not an IP address or IP:port (e.g. 127.0.0.1, 127.0.0.1:8081, [::1]:8081); static endpoints are never resolved by DNS`,
  });
  return z.NEVER;
});

const staticService = z.strictObject({
  namespace: describe(nonEmpty, 'namespace of the Service'),
  name: describe(nonEmpty, 'name of the Service'),
  ports: describe(
    z
      .array(
        z.strictObject({
          name: describe(z.string().default(''), 'port name, as in `service:name` paths'),
          port: describe(port, 'the Service port (as in `service:80` paths)'),
          targetPort: describe(
            port.optional(),
            'backend port for endpoints given without one; default: port',
          ),
          appProtocol: describe(z.string().optional(), 'appProtocol of the Service port (informational)'),
        }),
      )
      .min(1),
    'ports of the Service; at least one',
  ),
  endpoints: describe(
    z.array(endpointAddress),
    'addresses ("127.0.0.1" or "127.0.0.1:8081") of the ready backends',
  ),
  labels: describe(
    z.record(z.string(), z.string()).optional(),
    'labels of the Service (informational, as on a cluster Service)',
  ),
});

/** One entry per Service: a second `namespace/name` would silently replace the first. */
const staticServices = z.array(staticService).superRefine((services, ctx) => {
  const seen = new Set<string>();
  services.forEach((s, i) => {
    const key = `${s.namespace}/${s.name}`;
    if (seen.has(key))
      ctx.addIssue({
        code: 'custom',
        path: [i, 'name'],
        message: `"${key}" is listed twice: list each Service once, with all its ports and endpoints`,
      });
    seen.add(key);
  });
});

export const staticState = z.strictObject({
  services: describe(
    staticServices.default([]),
    'Services served without a cluster (with `kubernetes: none`), e.g. for the demo',
    [
      [
        {
          namespace: 'demo',
          name: 'whoami',
          ports: [{ name: 'http', port: 80, targetPort: 8081 }],
          endpoints: ['127.0.0.1'],
        },
      ],
    ],
  ),
});
