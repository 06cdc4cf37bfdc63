/**
 * The portal's answer, one shape for both the HTML page and the JSON a script
 * gets with `Accept: application/json` (a per-user `kubectl cluster-info`).
 * Pure: the reachable services, the search and the link settings in.
 */
import type { Identity } from '../../request/identity.js';
import { hostURL, matchesQuery } from './catalog.js';
import type { Reachable } from './reachable.js';

export interface PortalListing {
  user: { username: string; groups: string[]; email?: string };
  query: string;
  /** Some authorization checks failed; services may be missing. */
  incomplete: boolean;
  /** Present when the page's review budget ran out before every Service was checked (search to narrow). */
  truncated?: { unchecked: number };
  namespaces: {
    namespace: string;
    services: {
      name: string;
      /** `connect`: the `kube-bastion connect` line for the port, when tunnels are on. */
      ports: { name: string; port: number; path: string; url: string; connect?: string }[];
      hostURL?: string;
    }[];
  }[];
}

export interface LinkSettings {
  publicURL: URL;
  hostSuffix?: string;
  /** `tunnels.enabled`: each port also gets its `kube-bastion connect` line. */
  tunnels?: boolean;
}

/** A host label is one DNS label: `{service}--{namespace}` must fit in 63 characters. */
const fitsHostLabel = (s: { namespace: string; name: string }) =>
  s.name.length + 2 + s.namespace.length <= 63;

export function buildListing(
  identity: Identity,
  reachable: Reachable,
  query: string,
  links: LinkSettings,
): PortalListing {
  const namespaces = new Map<string, PortalListing['namespaces'][number]>();
  for (const s of reachable.services) {
    if (!matchesQuery(s, query)) continue;
    let group = namespaces.get(s.namespace);
    if (!group) namespaces.set(s.namespace, (group = { namespace: s.namespace, services: [] }));
    group.services.push({
      name: s.name,
      ports: s.ports.map((p) => ({
        name: p.name,
        port: p.port,
        path: p.path,
        url: new URL(p.path, links.publicURL).href,
        ...(links.tunnels ? { connect: `kube-bastion connect ${s.namespace}/${s.name}:${p.port}` } : {}),
      })),
      hostURL:
        s.hostRouted && links.hostSuffix && fitsHostLabel(s)
          ? hostURL(s, links.hostSuffix, links.publicURL)
          : undefined,
    });
  }
  return {
    user: { username: identity.username, groups: [...identity.groups], email: identity.email },
    query,
    incomplete: reachable.incomplete,
    ...(reachable.unchecked > 0 && { truncated: { unchecked: reachable.unchecked } }),
    namespaces: [...namespaces.values()],
  };
}
