/**
 * The session cookie on the wire: its name and flags (from publicURL), and
 * splitting a value over numbered cookies when it would not fit in one
 * (browsers drop cookies over 4096 bytes): `name`, `name_1`, `name_2`, …
 *
 * The chunks together must also fit in what the listener accepts
 * (`listen.maxHeaderBytes`), next to everything else a browser sends: a
 * session written larger would get every later request refused with 431,
 * sign-in and sign-out included. So a session has a byte budget, and one over
 * it is refused when it is written (SessionTooLargeError).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse, serialize } from 'cookie';
import { bareCookieName, isGatewayCookieName } from '../gateway-cookies.js';

/** Value bytes per cookie, leaving room for the name and attributes under the 4096-byte limit. */
export const CHUNK_SIZE = 3800;
/** More chunks than this means the session belongs in a server-side store. */
export const MAX_CHUNKS = 8;

export interface CookieSettings {
  /** Name of the first chunk, with the `__Host-Http-` / `__Http-` prefix when it applies. */
  name: string;
  /** Short-lived cookie holding an in-flight sign-in (PKCE verifier, state, nonce, rd). */
  loginName: string;
  secure: boolean;
  domain?: string;
  /** Most bytes the session's chunks may add to a request's Cookie header. */
  maxBytes: number;
}

export class SessionTooLargeError extends Error {
  readonly code = 'ERR_SESSION_TOO_LARGE';
  constructor(
    readonly bytes: number,
    readonly maxBytes: number,
  ) {
    super(
      `the session needs ${bytes} bytes of cookies, more than the ${maxBytes} this gateway can accept with its requests; use session.store: redis`,
    );
    this.name = 'SessionTooLargeError';
  }
}

/**
 * What the session may take of `maxHeaderBytes`: the rest is left for the
 * request line, the browser's own headers and other cookies of the host
 * (with path routing, every upstream app's cookies share it).
 */
export function sessionCookieBudget(maxHeaderBytes: number): number {
  const reserve = Math.max(2048, Math.floor(maxHeaderBytes / 4));
  return Math.max(0, Math.min(MAX_CHUNKS * CHUNK_SIZE, maxHeaderBytes - reserve));
}

export function cookieSettings(
  publicURL: URL,
  base: string,
  domain?: string,
  maxHeaderBytes = 16_384,
): CookieSettings {
  const secure = publicURL.protocol === 'https:';
  // `__Host-` makes the browser enforce Secure, Path=/ and no Domain: no subdomain can plant or overwrite it.
  // `Http-` (RFC 6265bis) makes it refuse the name from `document.cookie`: a proxied page's script,
  // which runs on this origin, cannot plant a session of its choosing (Chromium enforces both; a
  // browser that does not know `__Http-` still enforces `__Host-`).
  const prefix = !secure ? '' : domain ? '__Http-' : '__Host-Http-';
  const name = `${prefix}${base}`;
  return { name, loginName: `${name}_login`, secure, domain, maxBytes: sessionCookieBudget(maxHeaderBytes) };
}

/** Every name a gateway cookie can have: each possible chunk, then the sign-in cookie. */
export function allCookieNames(settings: CookieSettings): string[] {
  return [...Array.from({ length: MAX_CHUNKS }, (_, i) => chunkName(settings, i)), settings.loginName];
}

/**
 * A test for every cookie name the gateway owns, whatever an upstream's spelling (gateway-cookies.ts
 * holds the rule); `also` adds names outside the `<cookieName>_*` family.
 */
export function gatewayCookieMatcher(
  settings: Pick<CookieSettings, 'name'>,
  also: readonly string[] = [],
): (name: string) => boolean {
  const extra = new Set(also.map(bareCookieName));
  return (name) => isGatewayCookieName(name, settings.name) || extra.has(bareCookieName(name));
}

/** Is this one of our cookies (any chunk, or the sign-in cookie)? The proxy strips them. */
export function isOurCookie(settings: CookieSettings, name: string): boolean {
  if (name === settings.name || name === settings.loginName) return true;
  return name.startsWith(`${settings.name}_`) && /^[1-9]\d?$/.test(name.slice(settings.name.length + 1));
}

export function requestCookies(req: IncomingMessage): Record<string, string | undefined> {
  const header = req.headers.cookie;
  return header ? parse(header) : {};
}

export function chunkName(settings: CookieSettings, i: number): string {
  return i === 0 ? settings.name : `${settings.name}_${i}`;
}

/** Joins the chunks of the session cookie; undefined when there is none. A missing middle chunk yields a truncated value. */
export function readChunked(
  settings: CookieSettings,
  cookies: Record<string, string | undefined>,
): string | undefined {
  const first = cookies[settings.name];
  if (!first) return undefined;
  let value = first;
  for (let i = 1; i < MAX_CHUNKS; i++) {
    const next = cookies[chunkName(settings, i)];
    if (next === undefined) break;
    value += next;
  }
  return value;
}

function attributes(settings: CookieSettings, maxAgeSeconds: number) {
  return {
    httpOnly: true,
    secure: settings.secure,
    sameSite: 'lax' as const,
    path: '/',
    domain: settings.domain,
    maxAge: Math.max(0, Math.floor(maxAgeSeconds)),
  };
}

export function setCookie(
  settings: CookieSettings,
  name: string,
  value: string,
  maxAgeSeconds: number,
): string {
  return serialize(name, value, attributes(settings, maxAgeSeconds));
}

export function clearCookie(settings: CookieSettings, name: string): string {
  return serialize(name, '', { ...attributes(settings, 0), expires: new Date(0) });
}

/** Set-Cookie lines that store `value`, and expire chunks left over from a longer earlier value. */
export function writeChunked(
  settings: CookieSettings,
  value: string,
  maxAgeSeconds: number,
  present: Record<string, string | undefined>,
): string[] {
  const count = Math.ceil(value.length / CHUNK_SIZE);
  // What the browser will send back: `name=value` per chunk, joined by "; ".
  let bytes = value.length;
  for (let i = 0; i < count; i++) bytes += chunkName(settings, i).length + 3;
  if (count > MAX_CHUNKS || bytes > settings.maxBytes)
    throw new SessionTooLargeError(bytes, settings.maxBytes);
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    lines.push(
      setCookie(
        settings,
        chunkName(settings, i),
        value.slice(i * CHUNK_SIZE, (i + 1) * CHUNK_SIZE),
        maxAgeSeconds,
      ),
    );
  }
  for (let i = count; i < MAX_CHUNKS; i++) {
    const name = chunkName(settings, i);
    if (present[name] !== undefined) lines.push(clearCookie(settings, name));
  }
  return lines;
}

/** Set-Cookie lines that expire every cookie the gateway may have set, sent or not (sign-out). */
export function expireAll(settings: CookieSettings): string[] {
  return allCookieNames(settings).map((name) => clearCookie(settings, name));
}

/** Set-Cookie lines that remove every session chunk and the sign-in cookie the browser sent. */
export function clearAll(settings: CookieSettings, present: Record<string, string | undefined>): string[] {
  return Object.keys(present)
    .filter((name) => isOurCookie(settings, name))
    .map((name) => clearCookie(settings, name));
}

const PENDING = Symbol('kube-bastion.pendingCookies');
type WithPending = ServerResponse & { [PENDING]?: string[] };

/**
 * Adds Set-Cookie lines that survive whatever happens to the response before
 * its headers go out: the proxy copies the upstream's headers with setHeader,
 * which would replace ours, so they are merged in at writeHead time.
 */
export function addSetCookies(res: ServerResponse, lines: string[]): void {
  if (lines.length === 0) return;
  const r = res as WithPending;
  if (res.headersSent) return;
  if (r[PENDING]) {
    r[PENDING].push(...lines);
    return;
  }
  r[PENDING] = [...lines];
  const writeHead = res.writeHead.bind(res) as (...a: unknown[]) => ServerResponse;
  res.writeHead = function (this: WithPending, ...args: unknown[]) {
    const ours = this[PENDING] ?? [];
    this[PENDING] = undefined;
    const headersArg = args.find((a, i) => i > 0 && a && typeof a === 'object') as
      Record<string, unknown> | undefined;
    const key = headersArg && Object.keys(headersArg).find((k) => k.toLowerCase() === 'set-cookie');
    if (headersArg && key) {
      headersArg[key] = [...toList(headersArg[key]), ...ours];
    } else {
      this.setHeader('set-cookie', [...toList(this.getHeader('set-cookie')), ...ours]);
    }
    return writeHead(...args);
  };
}

function toList(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v.map((x) => String(x));
  return typeof v === 'string' || typeof v === 'number' ? [String(v)] : [];
}
