/**
 * Binds a handoff to the browser that asked for it. The routed host sets a
 * random nonce in a host-only cookie of its own when a sign-in starts, the
 * handoff carries the nonce's digest, and the host redeems it only for a
 * browser holding the nonce. So a handoff URL minted for one person's session
 * and opened in another's browser (login CSRF: signing the victim into the
 * attacker's account) is refused, and so is a copy replayed elsewhere.
 *
 * Each sign-in has its own cookie, `<name>_handoff_<digest prefix>`: several
 * tabs signing in to one host at once (a restored session) would race on a
 * shared one. A browser holding MAX_PENDING unfinished ones forgets them all
 * before starting another, so they cannot pile up into an oversized header.
 */
import { clearCookie, setCookie } from '../session/cookie-jar.js';
import type { HostCookieSettings } from './host-cookies.js';
import { nonceDigest } from './ticket.js';

export const MAX_PENDING = 8;
/** As long as a sign-in at the IdP may take (its own login cookie lives as long). */
export const NONCE_SECONDS = 600;
const NONCE = /^[A-Za-z0-9_-]{22}$/;

/** The cookie of the sign-in whose nonce has this digest. */
export const nonceCookieName = (cookies: HostCookieSettings, digest: string): string =>
  `${cookies.nonceName}_${digest.slice(0, 16)}`;

const pending = (cookies: HostCookieSettings, present: Record<string, string | undefined>) =>
  Object.keys(present).filter((name) => name.startsWith(`${cookies.nonceName}_`));

/** Set-Cookie lines that bind a new sign-in to this browser. */
export function bindNonce(
  cookies: HostCookieSettings,
  present: Record<string, string | undefined>,
  nonce: string,
): string[] {
  const stale = pending(cookies, present);
  const lines = stale.length >= MAX_PENDING ? stale.map((name) => clearCookie(cookies, name)) : [];
  lines.push(setCookie(cookies, nonceCookieName(cookies, nonceDigest(nonce)), nonce, NONCE_SECONDS));
  return lines;
}

/** The nonces this browser holds for a handoff with this digest (none, or the one). */
export function heldNonces(
  cookies: HostCookieSettings,
  present: Record<string, string | undefined>,
  digest: string,
): string[] {
  const nonce = present[nonceCookieName(cookies, digest)];
  return nonce !== undefined && NONCE.test(nonce) ? [nonce] : [];
}

/** The Set-Cookie line that forgets a redeemed sign-in's nonce. */
export const spendNonce = (cookies: HostCookieSettings, digest: string): string =>
  clearCookie(cookies, nonceCookieName(cookies, digest));
