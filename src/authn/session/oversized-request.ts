/**
 * The answer to a request whose headers are larger than the listener accepts
 * (`listen.maxHeaderBytes`). Node refuses it before any route runs, so without
 * help a browser whose gateway cookies grew too large would get 431 on every
 * request — /auth/login and /auth/logout included — until the cookies expire.
 *
 * When the gateway's own cookies are what pushed the request over the limit,
 * the 431 expires every one of them (each chunk and the sign-in cookie: the
 * names come from the config, not from the request we could not read), and
 * the page says what happened and how to sign in again. When they are not —
 * a huge URL, another application's cookies — nothing is expired, so a link
 * with a long URL cannot sign anybody out.
 */
import { GatewayError } from '../../errors.js';
import type { Config } from '../../config/schema.js';
import { renderErrorPage } from '../../web/pages/error-page.js';
import { pageHeaders } from '../../web/pages/send.js';
import { cookieSettings, expireAll, isOurCookie, type CookieSettings } from './cookie-jar.js';

/** What Node read of the request before it gave up: the chunk that overflowed (err.rawPacket). */
type RawPacket = Buffer | undefined;

/** Bytes of gateway cookies (`name=value`) in the raw header text. */
function ourCookieBytes(head: string, settings: CookieSettings): number {
  let bytes = 0;
  for (const line of head.split('\r\n')) {
    if (!/^cookie:/i.test(line)) continue;
    for (const pair of line.slice(line.indexOf(':') + 1).split(';')) {
      const name = pair.slice(0, pair.indexOf('=')).trim();
      if (name && isOurCookie(settings, name)) bytes += pair.trim().length + 2;
    }
  }
  return bytes;
}

/**
 * Did the gateway's cookies make this request too large? When Node's chunk
 * holds the request from its start, only if the rest would have fitted; when
 * it is a later piece, if any of our cookies are in it (the start, which held
 * the request line, was under the limit by itself).
 */
export function causedByOurCookies(
  raw: RawPacket,
  settings: CookieSettings,
  maxHeaderBytes: number,
): boolean {
  if (!raw) return false;
  const text = raw.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  const head = end >= 0 ? text.slice(0, end) : text;
  const ours = ourCookieBytes(head, settings);
  if (ours === 0) return false;
  const fromStart = /^[A-Z]+ \S+ HTTP\/1\.[01]\r\n/.test(head);
  return !fromStart || head.length - ours <= maxHeaderBytes;
}

const wantsHTML = (raw: RawPacket) => !!raw && /^accept:[^\r\n]*text\/html/im.test(raw.toString('latin1'));

function explain(cleared: boolean, maxHeaderBytes: number): GatewayError {
  const message = cleared
    ? `your browser sent more than the ${maxHeaderBytes} bytes of headers this gateway accepts, mostly its own sign-in cookies; they have been removed: sign in again`
    : `the request headers (the address, or the cookies of other applications on this site) are larger than the ${maxHeaderBytes} bytes this gateway accepts`;
  return new GatewayError(431, '', message);
}

/** A whole raw HTTP/1.1 response: the 431 and, when our cookies caused it, the lines that expire them. */
export function headerOverflowResponse(
  raw: RawPacket,
  settings: CookieSettings,
  maxHeaderBytes: number,
): string {
  const cleared = causedByOurCookies(raw, settings, maxHeaderBytes);
  const err = explain(cleared, maxHeaderBytes);
  const html = wantsHTML(raw);
  const body = html
    ? renderErrorPage(err, { loginPath: cleared ? '/auth/login' : undefined })
    : JSON.stringify(err.toStatus());
  const headers: [string, string][] = Object.entries(
    html ? pageHeaders() : { 'content-type': 'application/json', 'cache-control': 'no-store' },
  );
  if (cleared) for (const line of expireAll(settings)) headers.push(['Set-Cookie', line]);
  headers.push(['Content-Length', String(Buffer.byteLength(body))], ['Connection', 'close']);
  const head = headers.map(([k, v]) => `${k}: ${v}`).join('\r\n');
  return `HTTP/1.1 431 Request Header Fields Too Large\r\n${head}\r\n\r\n${body}`;
}

/** The listener's 431 answer for this config (cookie names and the header limit come from it). */
export function headerOverflowAnswer(config: Config): (raw: RawPacket) => string {
  const session = config.authentication.session;
  const settings = cookieSettings(
    new URL(config.publicURL),
    session?.cookieName ?? 'kube_bastion',
    session?.cookieDomain,
    config.listen.maxHeaderBytes,
  );
  return (raw) => headerOverflowResponse(raw, settings, config.listen.maxHeaderBytes);
}
