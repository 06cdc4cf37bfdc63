/**
 * Who the client is, by address, and the X-Forwarded-For chain the gateway
 * vouches for. A client's own X-Forwarded-For is a claim like any other
 * header: it is kept (and appended to) only when the direct peer is a
 * configured trusted proxy (`listen.trustedProxies`, e.g. the ingress
 * controller's Pod CIDR), which is also the only case where the client
 * address is read from it. Otherwise the chain is the peer's address alone
 * (oauth2-proxy CVE-2026-40575: spoofed X-Forwarded-* from any client).
 */
import { isIP } from 'node:net';

export interface ClientAddress {
  /** The client's address: the peer, or the nearest untrusted hop a trusted proxy reported. */
  ip: string;
  /** X-Forwarded-For for the upstream. */
  forwardedFor: string;
}

/**
 * `peer` is the socket's remote address, `claimed` the X-Forwarded-For
 * header(s) as received, `trusted` the trusted-proxy predicate.
 */
export function clientAddress(
  peer: string,
  claimed: string | string[] | undefined,
  trusted: (ip: string) => boolean,
): ClientAddress {
  if (!trusted(peer) || claimed === undefined) return { ip: peer, forwardedFor: peer };
  const hops = [claimed]
    .flat()
    .flatMap((v) => v.split(','))
    .map((h) => h.trim())
    .filter(Boolean);
  if (hops.length === 0) return { ip: peer, forwardedFor: peer };
  return { ip: nearestUntrusted(hops, peer, trusted), forwardedFor: [...hops, peer].join(', ') };
}

/**
 * Walks the chain from the gateway outwards: every trusted hop vouches for the
 * one before it; the first untrusted address is the client. A hop that is not
 * an address ends the walk at the last one that was.
 */
function nearestUntrusted(hops: string[], peer: string, trusted: (ip: string) => boolean): string {
  let client = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    if (isIP(hops[i]) === 0) break;
    client = hops[i];
    if (!trusted(client)) break;
  }
  return client;
}
