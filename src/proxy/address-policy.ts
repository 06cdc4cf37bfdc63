/**
 * Which IP addresses the gateway may dial. Like the apiserver, it refuses
 * addresses that are not global unicast (loopback, link-local — which holds
 * cloud metadata endpoints such as 169.254.169.254 — multicast, unspecified),
 * so that whoever can write an EndpointSlice or a Node status cannot point the
 * gateway at itself or at the node's metadata service. Admins may allow
 * specific ranges (e.g. 127.0.0.0/8 for local development).
 */
import { BlockList, isIP } from 'node:net';
import { blockListOf, unmapIPv4 } from './cidr-set.js';
import { boundedMemo } from '../memo.js';

const NOT_GLOBAL_UNICAST: [string, number, 'ipv4' | 'ipv6'][] = [
  ['0.0.0.0', 8, 'ipv4'],
  ['127.0.0.0', 8, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'],
  ['224.0.0.0', 4, 'ipv4'],
  ['255.255.255.255', 32, 'ipv4'],
  ['::', 128, 'ipv6'],
  ['::1', 128, 'ipv6'],
  ['fe80::', 10, 'ipv6'],
  ['ff00::', 8, 'ipv6'],
  // Cloud metadata over IPv6 (AWS IMDS), and 169.254.169.254 through the
  // well-known NAT64 prefix: global unicast on paper, the metadata service in fact.
  ['fd00:ec2::254', 128, 'ipv6'],
  ['64:ff9b::a9fe:a9fe', 128, 'ipv6'],
];

export type AddressPolicy = (ip: string) => boolean;

/** Returns a predicate: may this IP be dialled? `allowed` CIDRs override the built-in refusals. */
export function createAddressPolicy(allowed: readonly string[] = []): AddressPolicy {
  const refused = new BlockList();
  for (const [address, bits, family] of NOT_GLOBAL_UNICAST) refused.addSubnet(address, bits, family);
  const exempt = blockListOf(allowed);
  return (raw: string) => {
    const ip = unmapIPv4(raw);
    const family = isIP(ip);
    if (family === 0) return false;
    const type = family === 6 ? 'ipv6' : 'ipv4';
    return exempt.check(ip, type) || !refused.check(ip, type);
  };
}

/**
 * `policy` with its answers remembered: resolution asks about every endpoint
 * of a Service on every request. The addresses come from EndpointSlices and
 * Node status, never from clients; past `max` the memory starts over.
 */
export function rememberAnswers(policy: AddressPolicy, max = 100_000): AddressPolicy & { size(): number } {
  return boundedMemo(policy, max);
}
