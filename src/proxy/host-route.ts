/**
 * Host-based access: a request whose Host is `{service}--{namespace}.{suffix}`
 * (or `{service}-{port}--{namespace}.{suffix}` for a named port) or a
 * configured route goes to that Service with its path untouched — no prefix,
 * so web apps need no rewriting at all. Pure: Host + config → ProxyPath.
 */
import { badRequest } from '../errors.js';
import { cleanPath, escapePath, percentDecodeBytes, type ProxyPath } from './grammar.js';

export interface HostRouting {
  hostSuffix?: string;
  routes: { host: string; target: string }[];
}

interface HostTarget {
  namespace: string;
  /** The name segment as the path form would carry it: `web` or `web:http`. */
  segment: string;
  name: string;
  port: string;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** `host:port` or `[v6]:port` → lower-cased host without port and trailing dot. */
export function hostname(hostHeader: string): string {
  const h = hostHeader.startsWith('[')
    ? hostHeader.slice(0, hostHeader.indexOf(']') + 1)
    : hostHeader.split(':')[0];
  return h.toLowerCase().replace(/\.$/, '');
}

function parseRouteTarget(target: string): HostTarget {
  const [namespace, rest] = target.split('/') as [string, string];
  const [name, port = ''] = rest.split(':') as [string, string?];
  return { namespace, name, port, segment: port ? `${name}:${port}` : name };
}

export function createHostRouter(config: HostRouting) {
  const routes = new Map(
    config.routes.map((r) => [r.host.toLowerCase().replace(/\.$/, ''), parseRouteTarget(r.target)]),
  );
  const suffix = config.hostSuffix
    ? '.' + config.hostSuffix.toLowerCase().replace(/^\.|\.$/g, '')
    : undefined;

  /** The Service a Host header names, or undefined when it names none (gateway pages). */
  function match(hostHeader: string | undefined): HostTarget | undefined {
    if (!hostHeader) return undefined;
    const host = hostname(hostHeader);
    const route = routes.get(host);
    if (route) return route;
    if (!suffix || !host.endsWith(suffix)) return undefined;
    const label = host.slice(0, -suffix.length);
    const sep = label.lastIndexOf('--');
    if (sep <= 0) return undefined;
    const namespace = label.slice(sep + 2);
    const left = label.slice(0, sep);
    if (!DNS_LABEL.test(namespace)) return undefined;
    // `{service}-{port}` is only read as a port when a route does not say otherwise;
    // the resolver falls back to the whole label as the service name (see resolveHostTarget).
    return { namespace, name: left, port: '', segment: left };
  }

  /** Builds the ProxyPath for a host-routed request; the whole URL path goes upstream, cleaned. */
  function route(hostHeader: string | undefined, url: string): ProxyPath | undefined {
    const t = match(hostHeader);
    if (!t) return undefined;
    const q = url.indexOf('?');
    const rawPath = q === -1 ? url : url.slice(0, q);
    const decoded = percentDecodeBytes(rawPath);
    if (decoded === undefined) throw badRequest(`invalid URL escape in "${rawPath}"`);
    let path = cleanPath(decoded);
    if (decoded.endsWith('/') && !path.endsWith('/')) path += '/';
    return {
      kind: 'services',
      namespace: t.namespace,
      segment: t.segment,
      scheme: '',
      name: t.name,
      port: t.port,
      path: escapePath(path),
      prefix: '',
      rawQuery: q === -1 ? '' : url.slice(q + 1),
    };
  }

  return { match, route, enabled: routes.size > 0 || suffix !== undefined };
}

/**
 * `web-metrics--team-a` may mean service `web-metrics` or service `web`, port
 * `metrics`. The whole label wins when such a Service exists; otherwise the
 * last `-` splits off a port name.
 */
export function alternativeServicePort(path: ProxyPath): ProxyPath | undefined {
  if (path.prefix !== '' || path.port !== '') return undefined;
  const dash = path.name.lastIndexOf('-');
  if (dash <= 0) return undefined;
  const name = path.name.slice(0, dash);
  const port = path.name.slice(dash + 1);
  return { ...path, name, port, segment: `${name}:${port}` };
}
