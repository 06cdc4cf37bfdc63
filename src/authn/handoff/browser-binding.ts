/**
 * Binds a handoff to the browser that asked for it. The routed host sets a
 * random nonce in its own host-only cookie when a sign-in starts, the
 * handoff carries the nonce's digest, and the host redeems it only for a
 * browser holding the nonce. So a handoff URL minted for one person's session
 * and opened in another's browser (login CSRF: signing the victim into the
 * attacker's account) is refused, and so is a copy replayed elsewhere.
 *
 * The cookie keeps the few most recent nonces, newest first, so several tabs
 * signing in to the same host at once (a restored session) all succeed.
 */
import type { CookieSettings } from '../session/cookie-jar.js';
import { clearCookie, setCookie } from '../session/cookie-jar.js';
import { nonceDigest } from './ticket.js';

export const MAX_NONCES = 4;
/** As long as a sign-in at the IdP may take (its own login cookie lives as long). */
export const NONCE_SECONDS = 600;
const NONCE = /^[A-Za-z0-9_-]{22}$/;

export function readNonces(value: string | undefined): string[] {
  return (value ?? '')
    .split('.')
    .filter((n) => NONCE.test(n))
    .slice(0, MAX_NONCES);
}

/** The cookie line that adds `nonce` to those the browser holds. */
export function addNonce(cookies: CookieSettings, held: readonly string[], nonce: string): string {
  const value = [nonce, ...held].slice(0, MAX_NONCES).join('.');
  return setCookie(cookies, cookies.loginName, value, NONCE_SECONDS);
}

/** The cookie line that forgets the nonce a redeemed handoff was bound to. */
export function spendNonce(cookies: CookieSettings, held: readonly string[], digest: string): string {
  const rest = held.filter((n) => nonceDigest(n) !== digest);
  return rest.length > 0
    ? setCookie(cookies, cookies.loginName, rest.join('.'), NONCE_SECONDS)
    : clearCookie(cookies, cookies.loginName);
}
