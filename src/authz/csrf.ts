/**
 * Cross-site request checks for what a browser sends on its own.
 *
 * - A request authenticated by the session cookie with an unsafe method must
 *   carry an Origin (or, failing that, a Referer) equal to its target's own
 *   origin (see targetOrigin); SameSite=Lax alone still lets sibling
 *   subdomains (other apps behind host routing) post to us.
 * - A WebSocket upgrade with a foreign Origin is refused whatever the
 *   credentials: browsers attach cookies to cross-site WebSocket handshakes
 *   and apply no CORS to them (cross-site WebSocket hijacking). Non-browser
 *   clients send no Origin and pass.
 */
import type { IncomingMessage } from 'node:http';
import type { Identity } from '../request/identity.js';
import { forbidden } from '../errors.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/** `scheme://host[:port]` with the host lowercased and a default port dropped; undefined for `null` or junk. */
export function normalizeOrigin(value: string): string | undefined {
  try {
    const origin = new URL(value).origin;
    return origin === 'null' ? undefined : origin;
  } catch {
    return undefined;
  }
}

/** A Host header a browser could have sent: a DNS name or IPv4 address, an optional port. */
const PLAIN_HOST = /^[a-z0-9.-]+(:\d{1,5})?$/i;

/**
 * The one origin whose pages may act with the user's cookie on this request.
 * A host-routed request is its own origin (`https://web--team-a.apps.example.com`):
 * every routed app is a separate site to protect, so a page of another routed
 * host — or of the gateway — may not post to it or open its WebSockets. Every
 * other request (the path form, the gateway's own pages) belongs to publicURL.
 * Undefined when the Host is not a plain `host[:port]`: then no origin matches.
 */
export function targetOrigin(
  publicURL: URL,
  hostHeader: string | undefined,
  hostRouted: boolean,
): string | undefined {
  if (!hostRouted) return publicURL.origin;
  if (hostHeader === undefined || !PLAIN_HOST.test(hostHeader)) return undefined;
  return normalizeOrigin(`${publicURL.protocol}//${hostHeader}`);
}

const single = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

function isOwn(value: string | undefined, own: string | undefined): boolean {
  return own !== undefined && value !== undefined && normalizeOrigin(value) === own;
}

/**
 * Throws a 403 GatewayError when the request is a cross-site forgery candidate.
 * @param own the request's own origin, from targetOrigin
 */
export function checkOrigin(
  req: IncomingMessage,
  identity: Identity,
  own: string | undefined,
  upgrade: boolean,
): void {
  const origin = single(req.headers.origin);
  if (upgrade) {
    if (origin !== undefined && !isOwn(origin, own)) {
      throw forbidden(
        `cross-site WebSocket request refused: origin ${JSON.stringify(origin)} is not this gateway`,
      );
    }
    return;
  }
  if (identity.method !== 'session' || SAFE_METHODS.has((req.method ?? 'GET').toUpperCase())) return;
  const source = origin ?? single(req.headers.referer);
  if (!isOwn(source, own)) {
    throw forbidden(
      'cross-site request refused: a request signed in with the session cookie that changes something must come from a page of this gateway (Origin or Referer)',
    );
  }
}

/**
 * For the gateway's own state-changing forms (sign-out): the browser must say
 * the form came from `own` — by `Origin`, or when it sends none, by
 * `Sec-Fetch-Site: same-origin`, or failing both by `Referer`. Unlike
 * checkOrigin, a request that proves nothing is refused: these forms act on
 * the cookie alone, whoever sends it. Throws a 403 GatewayError.
 */
export function checkSameOriginForm(req: IncomingMessage, own: string): void {
  const origin = single(req.headers.origin);
  const site = single(req.headers['sec-fetch-site']);
  const referer = single(req.headers.referer);
  const sameOrigin =
    origin !== undefined
      ? isOwn(origin, own)
      : site !== undefined
        ? site === 'same-origin'
        : isOwn(referer, own);
  if (!sameOrigin) {
    throw forbidden(
      'this sign-out did not come from a page of this gateway (Origin, Sec-Fetch-Site or Referer); open /auth/logout and press Sign out',
    );
  }
}
