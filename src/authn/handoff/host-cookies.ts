/**
 * The cookies the gateway sets on a routed host: the host's own session
 * (`<name>_host`, chunked like the gateway's) and the browser-binding nonce
 * (`<name>_handoff`). Host-only always — no Domain, `__Host-` when publicURL
 * is https — so no other host ever receives them or can overwrite them.
 */
import { cookieSettings, type CookieSettings } from '../session/cookie-jar.js';

/** The routed host's cookies: `<name>_host` (+ chunks) and the browser-binding nonce; never a Domain. */
export interface HostCookieSettings extends CookieSettings {
  /**
   * `<name>_handoff`: the nonces of sign-ins begun on this host. Kept apart from the session's own
   * cookies, so a rejected host session (which clears those) never cancels a sign-in in another tab.
   */
  nonceName: string;
}

export function hostCookieSettings(
  publicURL: URL,
  base: string,
  maxHeaderBytes?: number,
): HostCookieSettings {
  return {
    ...cookieSettings(publicURL, `${base}_host`, undefined, maxHeaderBytes),
    nonceName: cookieSettings(publicURL, `${base}_handoff`).name,
  };
}
