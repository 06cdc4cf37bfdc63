/**
 * `tunnels.ports` and `tunnels.portRanges`: which backend ports a tunnel may reach. The check is on
 * the port actually dialled (a Service port's targetPort, a Pod's container
 * port), so a Service cannot map an allowed number onto a forbidden one.
 * Pure: a resolved Target in, the Target a tunnel may use out (or a 403).
 */
import { forbidden } from '../../errors.js';
import type { Target } from '../../request/target.js';

export type PortAllowed = (port: number) => boolean;

/** `tunnels.ports` (numbers) and `tunnels.portRanges` (`"8000-8099"`) → a predicate; neither: every port. */
export function portAllowList(ports?: readonly number[], portRanges?: readonly string[]): PortAllowed {
  if (!ports && !portRanges) return () => true;
  const ranges = [
    ...(ports ?? []).map((p) => [p, p] as const),
    ...(portRanges ?? []).map((r) => r.split('-').map(Number) as [number, number]),
  ];
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
