/**
 * Host-based access: a request whose Host is `{service}--{namespace}.{suffix}`
 * (or `{service}-{port}--{namespace}.{suffix}` for a named or numbered port) or
 * a configured route goes to that Service with its path untouched — no prefix,
 * so web apps need no rewriting at all. A host that names no port reaches the
 * Service's default port (default-port.ts). Pure: Host + config + the Services
 * that exist → ProxyPath.
 */
import { GatewayError, badRequest } from '../errors.js';
import type { ClusterState } from '../kube/cluster-state.js';
import { defaultServicePort, findServicePort, isTLSPort } from './default-port.js';
import {
  cleanPath,
  escapePath,
  percentDecodeBytes,
  type ProxyPath,
  type Scheme,
} from '../request/proxy-path.js';
import { checkNames } from '../request/names.js';

export interface HostRouting {
  hostSuffix?: string;
  routes: { host: string; target: string }[];
}

interface HostTarget {
  namespace: string;
  /**
   * The name segment as the path form would carry it: `web` or `web:http`.
   * Authorization sees this, so a host is authorized as the name it carries,
   * whichever port the default-port rule then picks.
   */
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

/**
 * The Host an upstream is sent for a routed request (Host and X-Forwarded-Host): the host the
 * client named, lower-cased, without a trailing dot, with its port. The app builds its links from
 * it, so it is the one spelling of the routed host, never a variant the router merely tolerated.
 */
export function routedAuthority(hostHeader: string): string {
  const name = hostname(hostHeader);
  const port = hostHeader.slice(hostHeader.lastIndexOf(']') + 1).split(':')[1];
  return port === undefined ? name : `${name}:${port}`;
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

const normalHost = (host: string) => host.toLowerCase().replace(/\.$/, '');

/** What a host name says before any Service is looked up: a `routes` entry, or a label under the suffix. */
type HostForm = { route: HostTarget } | { namespace: string; label: string };

function hostForms(config: HostRouting) {
  const routes = new Map(config.routes.map((r) => [normalHost(r.host), parseRouteTarget(r.target)]));
  const suffix = config.hostSuffix
    ? '.' + config.hostSuffix.toLowerCase().replace(/^\.|\.$/g, '')
    : undefined;
  return (hostHeader: string | undefined): HostForm | undefined => {
    if (!hostHeader) return undefined;
    const host = hostname(hostHeader);
    const route = routes.get(host);
    if (route) return { route }; // a configured route means exactly what it says
    if (!suffix || !host.endsWith(suffix)) return undefined;
    const label = host.slice(0, -suffix.length);
    const sep = label.lastIndexOf('--');
    if (sep <= 0) return undefined;
    const namespace = label.slice(sep + 2);
    if (!DNS_LABEL.test(namespace)) return undefined;
    return { namespace, label: label.slice(0, sep) };
  };
}

/**
 * Whether a Host header is one that host routing serves (a `routes` host or a
 * `{label}--{namespace}` name under the suffix), by its form alone: the
 * sign-in handoff is only ever sent to such a host.
 */
export function routedHostMatcher(config: HostRouting): (hostHeader: string | undefined) => boolean {
  const form = hostForms(config);
  return (hostHeader) => form(hostHeader) !== undefined;
}

export function createHostRouter(config: HostRouting, services: ServiceLookup) {
  const form = hostForms(config);

  /** The Service a Host header names, or undefined when it names none (gateway pages). */
  function match(hostHeader: string | undefined): Match | undefined {
    const f = form(hostHeader);
    if (!f) return undefined;
    if ('route' in f) return { target: f.route };
    return readLabel(f.namespace, f.label, services);
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
    const { port, scheme } = hostPort(t, services);
    const path: ProxyPath = {
      kind: 'services',
      subresource: 'proxy',
      namespace: t.namespace,
      segment: t.segment,
      scheme,
      name: t.name,
      port,
      path: escapePath(clean),
      prefix: '',
      rawQuery: q === -1 ? '' : url.slice(q + 1),
    };
    return { path, ambiguity: matched.ambiguity };
  }

  return { match, route, enabled: config.routes.length > 0 || config.hostSuffix !== undefined };
}

/**
 * The port a host reaches and whether it speaks TLS: the one the host names,
 * else the Service's default port (default-port.ts). An unknown Service keeps
 * what the host said, so resolution answers its usual 404.
 */
function hostPort(t: HostTarget, services: ServiceLookup): { port: string; scheme: Scheme } {
  const ports = services(t.namespace, t.name)?.spec?.ports ?? [];
  const chosen = t.port === '' ? defaultServicePort(ports) : findServicePort(ports, t.port);
  const scheme: Scheme = chosen && isTLSPort(chosen) ? 'https' : '';
  // One port: leave it unnamed, as the path form's `web` reaches it too.
  if (t.port !== '' || !chosen || ports.length === 1) return { port: t.port, scheme };
  return { port: chosen.name || String(chosen.port), scheme };
}

const hasPort = (service: ReturnType<ServiceLookup>, port: string) =>
  findServicePort(service?.spec?.ports ?? [], port) !== undefined;

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
