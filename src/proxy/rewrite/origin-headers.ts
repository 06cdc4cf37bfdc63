/**
 * Response headers that change browser state beyond the response itself: for
 * the whole origin, the whole site, or for as long as the browser remembers.
 * In the path form the origin is the gateway's, shared by the portal, the
 * sign-in pages and every other app, so an app may not set them:
 *   - `Strict-Transport-Security` (with includeSubDomains: every routed host),
 *   - `NEL` + `Report-To`: every later request to the origin — any app's URL —
 *     reported to a collector the app chose,
 *   - `Clear-Site-Data`: signs the visitor out and wipes other apps' storage,
 *   - `Service-Worker-Allowed` widening a service worker's scope beyond the
 *     app: a worker with scope `/` answers for the portal and every app.
 *     It is rewritten to stay under the prefix, as Location is.
 *   - `Cross-Origin-Opener-Policy: same-origin`: the gateway's confirmation
 *     pages send it so that a window an app opens on one goes out of the app's
 *     reach; an app page sending it from the same origin would keep the window
 *     in its group, and its script could read the page's form token
 *     (authn/terminal/navigation-only.ts). It becomes `same-origin-allow-popups`,
 *     which still keeps cross-origin openers away from the app but matches no
 *     page of the gateway (the app loses cross-origin isolation in the path form).
 * With host routing the origin is the app's own, but cookies are per site:
 * `Clear-Site-Data: "cookies"` (or `"*"`) would clear the gateway's session
 * on every host, so those two directives go. `Alt-Svc` goes in both forms:
 * which protocols and ports serve a host is the gateway's to say.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import { isUnderPrefix, normalizePrefix, prefixPath } from './url.js';

export interface OriginScope {
  form: 'path' | 'host';
  /** The path form's prefix (`/api/v1/namespaces/ns/services/web/proxy`). */
  prefix: string;
  /** The request target as received, against which a relative scope resolves. */
  requestURL: string;
}

const ORIGIN_WIDE = ['strict-transport-security', 'nel', 'report-to', 'clear-site-data'];
const GUARDED = [...ORIGIN_WIDE, 'alt-svc', 'service-worker-allowed', 'cross-origin-opener-policy'];

/** The headers an upstream may set in this form, and the names of those that were changed or dropped. */
export function guardOriginHeaders(
  headers: OutgoingHttpHeaders,
  scope: OriginScope,
): { headers: OutgoingHttpHeaders; changed: string[] } {
  // Most responses carry none of these: no copy then.
  if (!GUARDED.some((name) => headers[name] !== undefined)) return { headers, changed: [] };
  const out: OutgoingHttpHeaders = { ...headers };
  const changed: string[] = [];
  const drop = (name: string) => {
    if (out[name] === undefined) return;
    delete out[name];
    changed.push(name);
  };
  drop('alt-svc');
  if (scope.form === 'path') {
    for (const name of ORIGIN_WIDE) drop(name);
    const allowed = out['service-worker-allowed'];
    if (allowed !== undefined) {
      const scoped = workerScopeUnderPrefix(String(allowed), scope);
      if (scoped !== String(allowed)) changed.push('service-worker-allowed');
      out['service-worker-allowed'] = scoped;
    }
    const opener = out['cross-origin-opener-policy'];
    const apart = opener === undefined ? undefined : apartFromGateway(String(opener));
    if (apart !== undefined && apart !== String(opener)) {
      out['cross-origin-opener-policy'] = apart;
      changed.push('cross-origin-opener-policy');
    }
  } else if (out['clear-site-data'] !== undefined) {
    const kept = withoutCookieClearing(String(out['clear-site-data']));
    if (kept !== String(out['clear-site-data'])) changed.push('clear-site-data');
    if (kept === '') delete out['clear-site-data'];
    else out['clear-site-data'] = kept;
  }
  return { headers: out, changed };
}

/**
 * The scope path a Service-Worker-Allowed value names (resolved against the
 * script's URL, as the browser does), kept under the prefix: `/` is the app's
 * root, so it becomes `<prefix>/`.
 */
export function workerScopeUnderPrefix(
  value: string,
  scope: Pick<OriginScope, 'prefix' | 'requestURL'>,
): string {
  const prefix = normalizePrefix(scope.prefix);
  let path: string;
  try {
    path = new URL(value.trim(), new URL(scope.requestURL, 'http://gateway.invalid')).pathname;
  } catch {
    return `${prefix}/`;
  }
  if (isUnderPrefix(path, prefix)) return value;
  return prefixPath(path, prefix);
}

/**
 * `same-origin` (with any parameters) → `same-origin-allow-popups`; any other
 * value as sent (a value that is not exactly one token is ignored by browsers).
 */
function apartFromGateway(value: string): string {
  return value.replace(/^(\s*)same-origin(\s*(;.*)?)$/s, '$1same-origin-allow-popups$2');
}

/** `"cache", "cookies"` → `"cache"`: the directives that clear cookies (site-wide) removed. */
function withoutCookieClearing(value: string): string {
  return value
    .split(',')
    .map((d) => d.trim())
    .filter((d) => d !== '' && !/^"(cookies|\*)"$/i.test(d))
    .join(', ');
}
