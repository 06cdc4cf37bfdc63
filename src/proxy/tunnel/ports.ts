/**
 * `tunnels.ports`: which backend ports a tunnel may reach. The check is on
 * the port actually dialled (a Service port's targetPort, a Pod's container
 * port), so a Service cannot map an allowed number onto a forbidden one.
 * Pure: a resolved Target in, the Target a tunnel may use out (or a 403).
 */
import { forbidden } from '../../errors.js';
import type { Target } from '../target.js';

export type PortAllowed = (port: number) => boolean;

/** `[5432, "8000-8099"]` → a predicate; absent: every port. */
export function portAllowList(entries: readonly (number | string)[] | undefined): PortAllowed {
  if (!entries) return () => true;
  const ranges = entries.map((e) => {
    if (typeof e === 'number') return [e, e] as const;
    const [from, to] = e.split('-').map(Number);
    return [from, to] as const;
  });
  return (port) => ranges.some(([from, to]) => port >= from && port <= to);
}

/**
 * The target with only the endpoints whose port is allowed. When some are left
 * out it gets its own balancer key, so the HTTP target's endpoint state is not
 * churned by a narrower set under the same key.
 */
export function allowedTunnelTarget(target: Target, allowed: PortAllowed): Target {
  const endpoints = target.endpoints.filter((e) => allowed(e.port));
  if (endpoints.length === target.endpoints.length) return target;
  if (endpoints.length === 0) {
    const port = target.endpoints[0]?.port;
    throw forbidden(`tunnels to port ${port} are not allowed on this gateway (tunnels.ports)`);
  }
  return { ...target, endpoints, key: `${target.key}#tunnel-ports` };
}
