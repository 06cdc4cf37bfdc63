/**
 * A session cookie with `Domain=D` reaches D and its subdomains only. With
 * host routing the one sign-in must reach the gateway's own host and every
 * routed host, so each of them has to fall under the cookie domain; else
 * sign-in "works" and then loops on the host the cookie never reaches.
 */

const bare = (host: string) => host.toLowerCase().replace(/^\.+|\.+$/g, '');

/** Whether `host` is `domain` or a subdomain of it (a leading dot on the domain means the same). */
export function isUnderDomain(host: string, domain: string): boolean {
  const h = bare(host);
  const d = bare(domain);
  return d !== '' && (h === d || h.endsWith(`.${d}`));
}

export interface CookieDomainHosts {
  publicURL: string;
  hostSuffix?: string;
  routes: readonly { host: string }[];
}

/** One sentence per host the cookie would not reach, naming the config key it comes from. */
export function hostsOutsideCookieDomain(domain: string, c: CookieDomainHosts): string[] {
  let publicHost: string;
  try {
    publicHost = new URL(c.publicURL).hostname;
  } catch {
    return []; // publicURL's own check reports it
  }
  const hosts: [key: string, host: string][] = [
    ['publicURL', publicHost],
    ...(c.hostSuffix ? [['routing.hostSuffix', c.hostSuffix] as [string, string]] : []),
    ...c.routes.map((r, i): [string, string] => [`routing.routes[${i}].host`, r.host]),
  ];
  return hosts
    .filter(([, host]) => !isUnderDomain(host, domain))
    .map(
      ([key, host]) =>
        `${key} "${host}" is not under "${domain}", so the session cookie would never reach it; ` +
        `use a cookieDomain that covers every host, or move ${key} under "${domain}"`,
    );
}
