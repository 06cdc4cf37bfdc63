/**
 * Every cookie the gateway sets, on its own host or on a routed one, is named
 * `<cookieName>` or `<cookieName>_<something>`, with `__Host-` in front when
 * publicURL is https:
 *
 *   <name>, <name>_1 … <name>_7            the session (chunks)
 *   <name>_login                          a sign-in in progress
 *   <name>_host, <name>_host_1 …          a routed host's own session (handoff)
 *   <name>_handoff                        a routed host's sign-in in progress
 *
 * The whole `<cookieName>_*` family is the gateway's: an upstream may not set
 * one (the response rewriter drops such Set-Cookie lines), and a request never
 * carries one to an upstream. Compared without case and with or without the
 * `__Host-`/`__Secure-`/`__Http-`/`__Host-Http-` prefixes, so no spelling slips past.
 */

const PREFIX = /^(__host-http-|__host-|__http-|__secure-)/i;

/** A cookie name without case and without any of the browser's name prefixes (however many). */
export function bareCookieName(name: string): string {
  let n = name.trim().toLowerCase();
  while (PREFIX.test(n)) n = n.replace(PREFIX, '');
  return n;
}

/** Whether `name` is, or poses as, one of the gateway's cookies (`base` is `session.cookieName`). */
export function isGatewayCookieName(name: string, base: string): boolean {
  const n = bareCookieName(name);
  const b = bareCookieName(base);
  return n === b || n.startsWith(`${b}_`);
}
