/**
 * Cross-site request checks for what a browser sends on its own.
 *
 * - A request authenticated by the session cookie with an unsafe method must
 *   carry an Origin (or, failing that, a Referer) of one of our own origins;
 *   SameSite=Lax alone still lets sibling subdomains (other apps behind host
 *   routing) post to us.
 * - A WebSocket upgrade with a foreign Origin is refused whatever the
 *   credentials: browsers attach cookies to cross-site WebSocket handshakes
 *   and apply no CORS to them (cross-site WebSocket hijacking). Non-browser
 *   clients send no Origin and pass.
 */
import type { IncomingMessage } from 'node:http';
import type { Identity } from '../authn/identity.js';
import { forbidden } from '../errors.js';

/**
 * Our own origins: the publicURL, a list (host routing adds the routed host
 * the request came in on), or a predicate over a normalized origin
 * (`https://web--team-a.apps.example.com`).
 */
export type OwnOrigins = URL | string | readonly (URL | string)[] | ((origin: string) => boolean);

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

function ownOriginMatcher(own: OwnOrigins): (origin: string) => boolean {
  if (typeof own === 'function') return own;
  const list = (Array.isArray(own) ? own : [own]) as readonly (URL | string)[];
  const set = new Set(list.map((o) => normalizeOrigin(String(o))).filter((o) => o !== undefined));
  return (origin) => set.has(origin);
}

const single = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

function isOwn(value: string | undefined, own: OwnOrigins): boolean {
  const origin = value === undefined ? undefined : normalizeOrigin(value);
  return origin !== undefined && ownOriginMatcher(own)(origin);
}

/** Throws a 403 GatewayError when the request is a cross-site forgery candidate. */
export function checkOrigin(
  req: IncomingMessage,
  identity: Identity,
  own: OwnOrigins,
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
