/**
 * Where `nodes/{name}/proxy` goes: the apiserver's GetPreferredNodeAddress
 * walk over `--kubelet-preferred-address-types` (same default order), with
 * one improvement: a name that does not resolve gives way to the next address
 * type instead of ending the request with the DNS error (a `Hostname` that
 * only the nodes' own resolver knows is common). The apiserver-proxy.md §4.
 */
import type { V1Node } from '@kubernetes/client-node';
import { isIP } from 'node:net';
import { GatewayError, badRequest, notFound } from '../errors.js';
import type { AddressPolicy } from './address-policy.js';
import type { ProxyPath } from '../request/proxy-path.js';
import type { Target } from '../request/target.js';

/** kube-apiserver's default `--kubelet-preferred-address-types`. */
export const DEFAULT_NODE_ADDRESS_TYPES = [
  'Hostname',
  'InternalDNS',
  'InternalIP',
  'ExternalDNS',
  'ExternalIP',
];
const DEFAULT_KUBELET_PORT = 10250;
const HOSTNAME_LABEL = 'kubernetes.io/hostname';

export interface NodeResolveOptions {
  mayDial: AddressPolicy;
  /** Resolves a node's DNS name to the IPs that will be dialled (pinned: no second lookup). */
  lookupHost: (host: string) => Promise<string[]>;
  /** Address types in order of preference; default DEFAULT_NODE_ADDRESS_TYPES. */
  nodeAddressTypes?: readonly string[];
}

/**
 * The node's addresses in order of preference: per type, the first address of
 * that type (for `Hostname` without one, the `kubernetes.io/hostname` label).
 * Throws the apiserver's 500 when no type matches.
 */
export function preferredNodeAddresses(node: V1Node, types: readonly string[]): string[] {
  const addresses = node.status?.addresses ?? [];
  const out: string[] = [];
  for (const type of types) {
    const found = addresses.find((a) => a.type === type)?.address;
    const address = found ?? (type === 'Hostname' ? node.metadata?.labels?.[HOSTNAME_LABEL] : undefined);
    if (address && !out.includes(address)) out.push(address);
  }
  if (out.length > 0) return out;
  const known = addresses.map((a) => `{${a.type} ${a.address}}`).join(' ');
  throw new GatewayError(500, '', `no preferred addresses found; known addresses: [${known}]`);
}

/**
 * The IPs of the first candidate that resolves. Resolved once, and what is
 * checked is what is dialled (the apiserver's check-then-dial gap is
 * CVE-2020-8562). A resolved address the policy refuses ends the walk: a
 * refusal is never routed around.
 */
async function firstResolvable(candidates: string[], o: NodeResolveOptions): Promise<string[]> {
  let firstError: GatewayError | undefined;
  for (const address of candidates) {
    let ips: string[];
    try {
      ips = isIP(address) ? [address] : await o.lookupHost(address);
    } catch (err) {
      firstError ??= badRequest((err as Error).message);
      continue;
    }
    if (ips.length === 0) {
      firstError ??= badRequest('no addresses for hostname');
      continue;
    }
    if (!ips.every((ip) => o.mayDial(ip))) throw badRequest('address not allowed');
    return ips;
  }
  throw firstError!;
}

export async function resolveNodeTarget(
  path: ProxyPath,
  node: V1Node | undefined,
  o: NodeResolveOptions,
): Promise<Target> {
  if (!node) throw notFound('nodes', path.name);
  const candidates = preferredNodeAddresses(node, o.nodeAddressTypes ?? DEFAULT_NODE_ADDRESS_TYPES);
  const kubeletPort = node.status?.daemonEndpoints?.kubeletEndpoint?.Port || DEFAULT_KUBELET_PORT;
  const toKubelet = path.port === '' || path.port === String(kubeletPort);
  if (!toKubelet && !/^\d+$/.test(path.port)) throw badRequest(`invalid node request "${path.segment}"`);
  const port = toKubelet ? kubeletPort : Number(path.port);
  const ips = await firstResolvable(candidates, o);
  return {
    kind: 'nodes',
    namespace: '',
    name: path.name,
    segment: path.segment,
    scheme: toKubelet ? 'https' : path.scheme === 'https' ? 'https' : 'http',
    endpoints: [{ ip: ips[0], port, ready: true, serving: true, terminating: false, nodeName: path.name }],
    path: path.path,
    key: `nodes/${path.name}:${port}`,
  };
}
