/**
 * The answer to a request whose head is larger than the listener accepts
 * (`listen.maxHeaderBytes`). Without help a browser whose gateway cookies grew
 * too large would get 431 on every request — sign-in and sign-out included —
 * until the cookies expire.
 *
 * When the gateway's own cookies are what pushed the request over the limit,
 * the answer expires them (the names come from the config: every chunk, and
 * the sign-in cookie); when they are not — a huge URL, another application's
 * cookies — nothing is expired, so a long link cannot sign anybody out.
 *
 * A sign-in route (`/auth/…`) never gets a page: its URL may carry what a
 * path-form app's script on the same origin must not read (the handoff's
 * state; a 431 page left at that URL is readable from the window that opened
 * it). Too large by our cookies, it is sent again to the same URL without
 * them (a redirect commits no page); otherwise the connection is closed
 * without an answer, and the browser shows a
 * network error page that belongs to no origin.
 */
import { GatewayError } from '../../errors.js';
import { renderErrorPage } from '../../web/pages/error-page.js';
import { pageHeaders } from '../../web/pages/send.js';
import { isSignInTarget, LOGIN_PATH, SIGN_IN_PREFIX } from '../sign-in-paths.js';
import type { Config } from '../../config/schema.js';
import {
  allCookieNames,
  clearCookie,
  cookieSettings,
  expireAll,
  isOurCookie,
  MAX_CHUNKS,
  type CookieSettings,
} from './cookie-jar.js';

/**
 * The most the gateway's own cookies can add to a browser's request: every
 * chunk and the sign-in cookie, each at most the 4096 bytes a browser keeps,
 * and the `; ` between them. The listener reads heads this much larger than
 * its limit whole (server/header-limit.ts): any head larger still is too large
 * whatever our cookies did.
 */
export const OUR_COOKIES_MAX_BYTES = (MAX_CHUNKS + 1) * (4096 + 2);

/**
 * More header lines than this is too large too, whatever the bytes (browsers send a few dozen). The
 * listener counts them itself (server/header-limit.ts): Node 24 would refuse past its own count before
 * the target could be read, and Node 20 would drop the lines past it unseen.
 */
export const MAX_HEADER_LINES = 1000;

/** What the listener knows of a request whose head is too large. */
export interface OversizedHead {
  /** The request target (IncomingMessage.url: undefined only on a client's own requests, never here). */
  target?: string;
  /** What counts against the limit: the target and every header name and value. */
  bytes: number;
  /** The Cookie header, as far as it was read. */
  cookie: string;
  html: boolean;
}

interface OurShare {
  /** Bytes of session chunks (`name=value; `) in the Cookie header. */
  chunks: number;
  /** Bytes of the sign-in cookie. */
  login: number;
}

function ourShare(cookie: string, settings: CookieSettings): OurShare {
  const share = { chunks: 0, login: 0 };
  for (const pair of cookie.split(';')) {
    const name = pair.slice(0, pair.indexOf('=')).trim();
    if (!name || !isOurCookie(settings, name)) continue;
    if (name === settings.loginName) share.login += pair.trim().length + 2;
    else share.chunks += pair.trim().length + 2;
  }
  return share;
}

/** Node refuses a head once its count reaches the limit: the same measure here. */
const fits = (bytes: number, maxHeaderBytes: number) => bytes < maxHeaderBytes;

/**
 * The raw HTTP/1.1 answer to a too-large request, or undefined: close the
 * connection without one (a sign-in route that our cookies did not make too
 * large, or a request whose target is not known).
 */
export function oversizedAnswer(
  head: OversizedHead,
  settings: CookieSettings,
  maxHeaderBytes: number,
): string | undefined {
  if (head.target === undefined) return undefined;
  const share = ourShare(head.cookie, settings);
  if (isSignInTarget(head.target))
    return retryWithout(head.target, head.bytes, share, settings, maxHeaderBytes);
  const cleared =
    share.chunks + share.login > 0 && fits(head.bytes - share.chunks - share.login, maxHeaderBytes);
  return refusal(cleared, head.html, settings, maxHeaderBytes);
}

/**
 * A sign-in route made too large by our cookies: the same URL again, without the fewest of them that
 * make it fit — the session's chunks first, so a sign-in under way keeps its cookie (a session near
 * its budget and a sign-in cookie with a long return path can overflow the callback together).
 */
function retryWithout(
  target: string,
  bytes: number,
  share: OurShare,
  settings: CookieSettings,
  maxHeaderBytes: number,
): string | undefined {
  const location = sameURL(target);
  if (!location) return undefined;
  if (share.chunks > 0 && fits(bytes - share.chunks, maxHeaderBytes))
    return redirect(location, expireChunks(settings));
  if (share.login > 0 && fits(bytes - share.chunks - share.login, maxHeaderBytes))
    return redirect(location, expireAll(settings));
  return undefined;
}

/** The target as a same-origin path to send the browser back to; undefined when it would not be one. */
function sameURL(target: string): string | undefined {
  const start = target.toLowerCase().indexOf(SIGN_IN_PREFIX);
  const path = target.startsWith('/') ? target : start > 0 ? target.slice(start) : '';
  // Node's parser admits no control bytes; anything but printable ASCII has no business in a Location.
  return /^\/[!-~]*$/.test(path) && !path.startsWith('//') ? path : undefined;
}

/** Every chunk the session may have, not the sign-in cookie. */
const expireChunks = (settings: CookieSettings) =>
  allCookieNames(settings)
    .filter((name) => name !== settings.loginName)
    .map((name) => clearCookie(settings, name));

function redirect(location: string, expire: string[]): string {
  const headers: [string, string][] = [
    ['Location', location],
    ['Cache-Control', 'no-store'],
    ['Referrer-Policy', 'no-referrer'],
    ...expire.map((line): [string, string] => ['Set-Cookie', line]),
  ];
  return rawResponse('303 See Other', headers, '');
}

function explain(cleared: boolean, maxHeaderBytes: number): GatewayError {
  const message = cleared
    ? `your browser sent more than the ${maxHeaderBytes} bytes of headers this gateway accepts, mostly its own sign-in cookies; they have been removed: sign in again`
    : `the request headers (the address, or the cookies of other applications on this site) are larger than the ${maxHeaderBytes} bytes (or ${MAX_HEADER_LINES} lines) this gateway accepts`;
  return new GatewayError(431, '', message);
}

/** The 431 and, when our cookies caused it, the lines that expire them. */
function refusal(cleared: boolean, html: boolean, settings: CookieSettings, maxHeaderBytes: number): string {
  const err = explain(cleared, maxHeaderBytes);
  const body = html
    ? renderErrorPage(err, { loginPath: cleared ? LOGIN_PATH : undefined })
    : JSON.stringify(err.toStatus());
  const headers: [string, string][] = Object.entries(
    html ? pageHeaders() : { 'content-type': 'application/json', 'cache-control': 'no-store' },
  );
  if (cleared) for (const line of expireAll(settings)) headers.push(['Set-Cookie', line]);
  return rawResponse('431 Request Header Fields Too Large', headers, body);
}

function rawResponse(status: string, headers: [string, string][], body: string): string {
  const all = [...headers, ['Content-Length', String(Buffer.byteLength(body))], ['Connection', 'close']];
  return `HTTP/1.1 ${status}\r\n${all.map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n${body}`;
}

/** The listener's answer for this config (cookie names and the header limit come from it). */
export function oversizedAnswerFor(config: Config): (head: OversizedHead) => string | undefined {
  const session = config.authentication.session;
  const settings = cookieSettings(
    new URL(config.publicURL),
    session?.cookieName ?? 'kube_bastion',
    session?.cookieDomain,
    config.listen.maxHeaderBytes,
  );
  return (head) => oversizedAnswer(head, settings, config.listen.maxHeaderBytes);
}
