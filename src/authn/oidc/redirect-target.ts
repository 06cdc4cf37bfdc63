/**
 * Where to send the browser after sign-in or sign-out: only ever a path on
 * our own origin. Anything that a browser could read as another host —
 * `//evil`, `/\evil`, `https:evil`, encoded or whitespace-smuggled variants —
 * falls back to `/`. (oauth2-proxy CVE-2020-5233, CVE-2020-11053, CVE-2020-4037.)
 */
import { normalHost } from '../../config/schema/routing.js';

const MAX_LENGTH = 2048;
/** The gateway's own sign-in paths, never a place to return to. */
const SIGN_IN_PATHS = /^\/auth\/(login|callback|logout)\b/;
// Control characters and whitespace: browsers strip tabs/newlines inside URLs, which turns `/\t/evil` into `//evil`.
// eslint-disable-next-line no-control-regex
const UNSAFE_CHARS = /[\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200f\u2028\u2029\u202f\u205f\u3000\ufeff\\]/;

// eslint-disable-next-line no-control-regex
const UNSAFE_START = /^(?!\/)|^\/[\s/\\\u0000-\u001f\u007f]/;

function decodeFully(value: string): string | undefined {
  let current = value;
  for (let i = 0; i < 4; i++) {
    let next: string;
    try {
      next = decodeURIComponent(current);
    } catch {
      return undefined;
    }
    if (next === current) return current;
    current = next;
  }
  return undefined; // still changing after 4 rounds: nobody needs that
}

/**
 * The path (with query and fragment) to redirect to, or `/` when `rd` is not a
 * safe same-origin path. With host routing, `rd` may also be an absolute
 * http(s) URL whose origin `isOwnOrigin` vouches for (a host-routed service
 * sends its visitors here to sign in and wants them back).
 */
export function safeRedirectTarget(
  rd: unknown,
  publicURL: URL,
  fallback = '/',
  isOwnOrigin?: (origin: string) => boolean,
  reserved: RegExp = SIGN_IN_PATHS,
): string {
  if (typeof rd !== 'string' || rd.length === 0 || rd.length > MAX_LENGTH) return fallback;
  if (isOwnOrigin && /^https?:\/\/[^/\\]/.test(rd)) return ownAbsoluteTarget(rd, isOwnOrigin) ?? fallback;
  if (!rd.startsWith('/') || rd.startsWith('//')) return fallback;
  const decoded = decodeFully(rd);
  if (decoded === undefined || UNSAFE_CHARS.test(rd)) return fallback;
  // Decoded, the start must still be a plain `/x`: `/%2F/evil`, `/%5Cevil`, `/%09/evil` are not.
  if (UNSAFE_START.test(decoded)) return fallback;
  let url: URL;
  try {
    url = new URL(rd, publicURL);
  } catch {
    return fallback;
  }
  if (url.origin !== publicURL.origin) return fallback;
  const target = url.pathname + url.search + url.hash;
  // Dot segments collapse: `/.//evil` normalizes to `//evil`.
  if (target.startsWith('//')) return fallback;
  // Never bounce back into the sign-in machinery (loops).
  if (reserved.test(url.pathname)) return fallback;
  return target;
}

/** An absolute URL on one of our own (host-routed) origins, re-serialized; undefined otherwise. */
function ownAbsoluteTarget(rd: string, isOwnOrigin: (origin: string) => boolean): string | undefined {
  if (UNSAFE_CHARS.test(rd) || rd.includes('@')) return undefined;
  let url: URL;
  try {
    url = new URL(rd);
  } catch {
    return undefined;
  }
  if (url.username || url.password || !isOwnOrigin(url.origin)) return undefined;
  return url.href;
}

/**
 * Which origins a finished sign-in may send the browser back to (`rd`): the gateway's own, and
 * any host it routes — a host-routed service sends its visitors to sign in and wants them back —
 * on publicURL's scheme and port, the only ones routed hosts are served on. Only for redirects,
 * never a CSRF allow-list: a page on one routed host must not act on another (authz/csrf.ts).
 */
export function returnOrigins(
  publicURL: URL,
  routing: { hostSuffix?: string; routes: readonly { host: string }[] },
): (origin: string) => boolean {
  const suffix = routing.hostSuffix && `.${normalHost(routing.hostSuffix)}`;
  const routed = new Set(routing.routes.map((r) => normalHost(r.host)));
  return (origin) => {
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return false;
    }
    if (url.origin === publicURL.origin) return true;
    if (url.protocol !== publicURL.protocol || url.port !== publicURL.port) return false;
    const host = normalHost(url.hostname);
    return (suffix !== undefined && host.endsWith(suffix)) || routed.has(host);
  };
}
