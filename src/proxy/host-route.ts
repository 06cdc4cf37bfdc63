/**
 * Host-based access: a request whose Host is `{service}--{namespace}.{suffix}`
 * (or `{service}-{port}--{namespace}.{suffix}` for a named port) or a
 * configured route goes to that Service with its path untouched — no prefix,
 * so web apps need no rewriting at all. Pure: Host + config + the Services
 * that exist → ProxyPath.
 */
import { GatewayError, badRequest } from '../errors.js';
import type { ClusterState } from '../kube/cluster-state.js';
import { cleanPath, escapePath, percentDecodeBytes, type ProxyPath } from './grammar.js';
import { checkNames } from './names.js';

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

export interface HostRouted {
  path: ProxyPath;
  /**
   * Set when the label reads as two existing targets. Answered only after
   * authorization, so callers without access learn nothing about which
   * Services exist.
   */
  ambiguity?: GatewayError;
}

type ServiceLookup = ClusterState['service'];
type Match = { target: HostTarget; ambiguity?: GatewayError };

export function createHostRouter(config: HostRouting, services: ServiceLookup) {
  const routes = new Map(
    config.routes.map((r) => [r.host.toLowerCase().replace(/\.$/, ''), parseRouteTarget(r.target)]),
  );
  const suffix = config.hostSuffix
    ? '.' + config.hostSuffix.toLowerCase().replace(/^\.|\.$/g, '')
    : undefined;

  /** The Service a Host header names, or undefined when it names none (gateway pages). */
  function match(hostHeader: string | undefined): Match | undefined {
    if (!hostHeader) return undefined;
    const host = hostname(hostHeader);
    const route = routes.get(host);
    if (route) return { target: route }; // a configured route means exactly what it says
    if (!suffix || !host.endsWith(suffix)) return undefined;
    const label = host.slice(0, -suffix.length);
    const sep = label.lastIndexOf('--');
    if (sep <= 0) return undefined;
    const namespace = label.slice(sep + 2);
    const left = label.slice(0, sep);
    if (!DNS_LABEL.test(namespace)) return undefined;
    return readLabel(namespace, left, services);
  }

  /** Builds the ProxyPath for a host-routed request; the whole URL path goes upstream, cleaned. */
  function route(hostHeader: string | undefined, url: string): HostRouted | undefined {
    const matched = match(hostHeader);
    if (!matched) return undefined;
    const t = matched.target;
    checkNames({ kind: 'services', ...t });
    const q = url.indexOf('?');
    const rawPath = q === -1 ? url : url.slice(0, q);
    const decoded = percentDecodeBytes(rawPath);
    if (decoded === undefined) throw badRequest(`invalid URL escape in "${rawPath}"`);
    let clean = cleanPath(decoded);
    if (decoded.endsWith('/') && !clean.endsWith('/')) clean += '/';
    const path: ProxyPath = {
      kind: 'services',
      namespace: t.namespace,
      segment: t.segment,
      scheme: '',
      name: t.name,
      port: t.port,
      path: escapePath(clean),
      prefix: '',
      rawQuery: q === -1 ? '' : url.slice(q + 1),
    };
    return { path, ambiguity: matched.ambiguity };
  }

  return { match, route, enabled: routes.size > 0 || suffix !== undefined };
}

const hasPort = (service: ReturnType<ServiceLookup>, port: string) =>
  (service?.spec?.ports ?? []).some((p) => p.name === port || String(p.port) === port);

/**
 * `web-metrics--team-a` may mean Service `web-metrics`, or Service `web` port
 * `metrics`. Whichever reading names something that exists wins (the whole
 * label when neither does, so a 404 names what was typed). When both exist
 * the host cannot say which it means: a `routes` entry must.
 */
function readLabel(namespace: string, label: string, services: ServiceLookup): Match {
  const whole: HostTarget = { namespace, name: label, port: '', segment: label };
  const dash = label.lastIndexOf('-');
  if (dash <= 0 || dash === label.length - 1) return { target: whole };
  const name = label.slice(0, dash);
  const port = label.slice(dash + 1);
  const split: HostTarget = { namespace, name, port, segment: `${name}:${port}` };
  const wholeExists = services(namespace, label) !== undefined;
  const splitExists = hasPort(services(namespace, name), port);
  if (wholeExists && splitExists) {
    return {
      target: whole,
      ambiguity: badRequest(
        `host label "${label}--${namespace}" is ambiguous: Service "${label}" and port "${port}" of Service "${name}" ` +
          `both exist in namespace "${namespace}"; ask your admin to add a routing.routes entry ` +
          `(host → "${namespace}/${label}" or "${namespace}/${name}:${port}")`,
      ),
    };
  }
  return { target: splitExists ? split : whole };
}
