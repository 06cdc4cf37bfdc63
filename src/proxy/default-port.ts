/**
 * Which port a host-routed request reaches when its host names no port.
 *
 * The path form keeps the apiserver's rule (`web` means the Service's unnamed
 * port, so a multi-port Service needs `web:http`), but a host such as
 * `web--team-a.apps.example.com` has nowhere to put a port, and a browser user
 * wants the web page. So for host routing, in this order:
 *
 *   1. the port named `http`, else the port named `https`;
 *   2. else port 80, else port 443;
 *   3. else the only port, or the first one listed.
 *
 * The chosen port is spoken to over TLS when it is named `https`, is numbered
 * 443 or declares `appProtocol: https` (the same test applies to a port named
 * in the host, `web-https--team-a`, and to `routes` targets).
 */

/** The part of a Service port the rule reads (a V1ServicePort fits). */
export interface ServicePortLike {
  name?: string;
  port: number;
  appProtocol?: string;
}

export function defaultServicePort<P extends ServicePortLike>(ports: readonly P[]): P | undefined {
  return (
    ports.find((p) => p.name === 'http') ??
    ports.find((p) => p.name === 'https') ??
    ports.find((p) => p.port === 80) ??
    ports.find((p) => p.port === 443) ??
    ports[0]
  );
}

/** Whether a Service port speaks TLS, as far as its name, number and appProtocol say. */
export function isTLSPort(port: ServicePortLike): boolean {
  return port.name === 'https' || port.port === 443 || port.appProtocol?.toLowerCase() === 'https';
}

/** The port a host or `routes` target names (a name or a number), among the Service's ports. */
export function findServicePort<P extends ServicePortLike>(ports: readonly P[], port: string): P | undefined {
  return ports.find((p) => p.name === port || String(p.port) === port);
}
