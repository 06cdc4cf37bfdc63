/**
 * Sets of IP ranges written as CIDRs (`10.0.0.0/8`, `fd00::/8`, or a bare
 * address), checked the same way wherever the gateway asks "is this address
 * one of those": which upstream addresses may be dialled, which peers are
 * trusted proxies.
 */
import { BlockList, isIP } from 'node:net';

/** Maps `::ffff:1.2.3.4` to `1.2.3.4` so IPv4 rules apply to v4-mapped v6 addresses. */
export function unmapIPv4(ip: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m ? m[1] : ip;
}

/** A BlockList of `cidrs`, which the config schema checked (`cidr` in config/schema/primitives.ts). */
export function blockListOf(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [address, bits] = cidr.split('/');
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(bits), family);
  }
  return list;
}

/** A predicate: is this address (v4, v6 or v4-mapped) in one of the ranges? Not an IP: false. */
export function cidrMatcher(cidrs: readonly string[]): (ip: string) => boolean {
  if (cidrs.length === 0) return () => false;
  const list = blockListOf(cidrs);
  return (raw) => {
    const ip = unmapIPv4(raw);
    const family = isIP(ip);
    return family !== 0 && list.check(ip, family === 6 ? 'ipv6' : 'ipv4');
  };
}
