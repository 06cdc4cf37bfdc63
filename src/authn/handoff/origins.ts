/**
 * Origins in the handoff: a routed host is reached with publicURL's scheme
 * and port (the same listener serves both), so its origin is publicURL's
 * scheme + the Host it was asked for. Pure.
 */

// A Host header is a host name or [v6] with an optional port: nothing that could carry a path or user.
const HOST_HEADER = /^[A-Za-z0-9._-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

/** The origin `hostHeader` stands for on publicURL's scheme; undefined when it is not a plain host[:port]. */
export function originOf(publicURL: URL, hostHeader: string | undefined): string | undefined {
  if (!hostHeader || !HOST_HEADER.test(hostHeader)) return undefined;
  try {
    return new URL(`${publicURL.protocol}//${hostHeader}`).origin;
  } catch {
    return undefined;
  }
}

/** Whether a request's Host is the gateway's own host (cookies ignore ports, so this does too). */
export function isGatewayHost(publicURL: URL, hostHeader: string | undefined): boolean {
  const origin = originOf(publicURL, hostHeader);
  return origin !== undefined && new URL(origin).hostname === publicURL.hostname;
}

/**
 * The origin a handoff may be minted for: a routed host (by its form), not the
 * gateway's own, on publicURL's port. Anything else gets no ticket.
 */
export function handoffOrigin(
  publicURL: URL,
  host: string | undefined,
  isRoutedHost: (host: string) => boolean,
): string | undefined {
  const origin = originOf(publicURL, host);
  if (!origin || !host || isGatewayHost(publicURL, host) || !isRoutedHost(host)) return undefined;
  return new URL(origin).port === publicURL.port ? origin : undefined;
}
