/**
 * What the portal can offer: every Service port, as the links a person (or
 * `kubectl cluster-info`) would use. Pure: Services + link settings in,
 * entries out; authorization happens elsewhere (reachable.ts).
 */
import type { V1Service } from '@kubernetes/client-node';

export interface PortLink {
  /** Port name, '' when the port is unnamed. */
  name: string;
  port: number;
  /** The name segment of the proxy URL: `web`, `web:http` or `https:web:https`. */
  segment: string;
  /** Path form: `/api/v1/namespaces/NS/services/SEGMENT/proxy/`. */
  path: string;
}

export interface ServiceEntry {
  namespace: string;
  name: string;
  ports: PortLink[];
  /** Path whose authorization decides the host-routed link (host routing names no port). */
  hostCheckPath: string;
}

/** The segment kubectl cluster-info would print: `https:` for a port named https or numbered 443. */
export function portSegment(service: string, port: { name?: string; port: number }): string {
  const name = port.name ?? '';
  const https = name === 'https' || port.port === 443;
  if (https) return `https:${service}:${name}`;
  return name ? `${service}:${name}` : service;
}

export function proxyPath(namespace: string, segment: string): string {
  return `/api/v1/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(segment).replace(/%3A/g, ':')}/proxy/`;
}

/** Every port of every Service, sorted by namespace then name. */
export function catalog(services: readonly V1Service[]): ServiceEntry[] {
  const entries: ServiceEntry[] = [];
  for (const svc of services) {
    const namespace = svc.metadata?.namespace;
    const name = svc.metadata?.name;
    if (!namespace || !name) continue;
    const ports = (svc.spec?.ports ?? []).map((p) => {
      const segment = portSegment(name, p);
      return { name: p.name ?? '', port: p.port, segment, path: proxyPath(namespace, segment) };
    });
    if (ports.length === 0) continue;
    entries.push({ namespace, name, ports, hostCheckPath: proxyPath(namespace, name) });
  }
  return entries.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}

/** `?q=` search: every whitespace-separated term must appear in the namespace, name or a port name. */
export function matchesQuery(
  entry: { namespace: string; name: string; ports: { name: string }[] },
  query: string,
): boolean {
  const terms = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (terms.length === 0) return true;
  const haystack = [
    entry.namespace,
    entry.name,
    `${entry.namespace}/${entry.name}`,
    ...entry.ports.map((p) => p.name),
  ]
    .join(' ')
    .toLowerCase();
  return terms.every((t) => haystack.includes(t));
}

/** `https://{service}--{namespace}.{suffix}/`, on the public URL's scheme and port. */
export function hostURL(
  entry: { namespace: string; name: string },
  hostSuffix: string,
  publicURL: URL,
): string {
  const suffix = hostSuffix.replace(/^\.|\.$/g, '');
  const port = publicURL.port ? `:${publicURL.port}` : '';
  return `${publicURL.protocol}//${entry.name}--${entry.namespace}.${suffix}${port}/`;
}
