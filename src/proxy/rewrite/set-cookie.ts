/**
 * Keeps cookies an app sets scoped to the app's prefix. Unproxied, `Path=/x`
 * means "this app, under /x"; behind the gateway that is `<prefix>/x`. The
 * apiserver leaves Set-Cookie alone, so an app's `Path=/` cookie leaks to
 * every other service on the same gateway host.
 */
import { normalizePrefix, prefixPath, type RewriteContext } from './url.js';

/** Rewrites the Path attribute of one Set-Cookie value (adding one when absent or invalid). */
export function rewriteSetCookiePath(value: string, ctx: RewriteContext): string {
  const prefix = normalizePrefix(ctx.prefix);
  // __Host- cookies must have Path=/ or the browser drops them, so they cannot be scoped
  // (the forwarder drops them in the path form before this: cookie-guard.ts).
  if (prefix === '' || /^\s*__Host-/.test(value)) return value;
  const parts = value.split(';');
  let sawPath = false;
  for (let i = 1; i < parts.length; i++) {
    const part = parts[i];
    const eq = part.indexOf('=');
    if (eq === -1 || part.slice(0, eq).trim().toLowerCase() !== 'path') continue;
    sawPath = true;
    const path = part.slice(eq + 1).trim();
    // RFC 6265 §5.2.4: a Path not starting with `/` counts as absent (the default path).
    const scoped = !path.startsWith('/') ? prefix : path === '/' ? prefix : prefixPath(path, prefix);
    parts[i] = `${part.slice(0, eq + 1)}${scoped}`;
  }
  // The browser's default path (the request's directory) is already under the
  // prefix, except for a POST to the bare `…/proxy`; pinning it keeps every case scoped.
  return sawPath ? parts.join(';') : `${value}; Path=${prefix}`;
}
