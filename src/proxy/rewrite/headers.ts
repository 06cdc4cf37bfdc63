/**
 * Response headers of the path form: URLs the app sends in headers get the
 * prefix (apiserver: Location only), cookies stay scoped to the app, and
 * headers that describe the exact bytes go when the body is rewritten.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { rewriteSetCookiePath } from './set-cookie.js';
import { applyEdit, planURLRewrite, type RewriteContext } from './url.js';

/**
 * The apiserver rewrites Location on any status; Content-Location names the
 * same kind of URL. A relative one gets the prefix; an absolute one that names
 * the upstream (its ip:port, its Service's DNS name) or the gateway stays
 * absolute — the apiserver keeps that form too — on the origin the client
 * used (`clientOrigin`), since the client cannot reach the upstream's.
 */
export function rewriteLocation(value: string, ctx: RewriteContext): string {
  const edit = planURLRewrite(value, ctx);
  if (edit === undefined) return value;
  const absolute = edit.end > edit.start && ctx.clientOrigin !== undefined;
  return applyEdit(
    value,
    absolute ? { ...edit, replacement: `${ctx.clientOrigin}${edit.replacement}` } : edit,
  );
}

/** The response headers that carry a URL the gateway rewrites. */
const URL_HEADERS = ['location', 'content-location'];

/**
 * Whether the header rewriting (this file's, and the Set-Cookie guard's) has anything to do: false for
 * most responses, which set no cookie, name no URL in a header and keep their body as it came.
 */
export function headersToRewrite(headers: OutgoingHttpHeaders, bodyRewritten: boolean): boolean {
  if (bodyRewritten || headers['set-cookie'] !== undefined) return true;
  for (const name of URL_HEADERS) if (headers[name] !== undefined) return true;
  return false;
}

/** Location and Content-Location of `headers` rewritten (the only URL headers host routing needs). */
export function rewriteLocationHeaders(
  headers: OutgoingHttpHeaders,
  ctx: RewriteContext,
): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ...headers };
  for (const name of URL_HEADERS) {
    const value = out[name];
    if (typeof value === 'string') out[name] = rewriteLocation(value, ctx);
  }
  return out;
}

/** Headers whose value is invalid once the body bytes change. */
const BYTE_EXACT = [
  'content-length',
  'content-md5',
  'digest',
  'content-digest',
  'repr-digest',
  'accept-ranges',
];

/**
 * A copy of `headers` with Location, Content-Location and Set-Cookie
 * rewritten. When `bodyRewritten`, also: Content-Length and byte digests
 * dropped (the length is not known until the end), Accept-Ranges dropped
 * (ranges of the rewritten bytes cannot be served) and a strong ETag made
 * weak (same meaning, different bytes). Content-Encoding is kept: the body
 * is re-encoded with it.
 */
export function rewriteResponseHeaders(
  headers: IncomingHttpHeaders | OutgoingHttpHeaders,
  ctx: RewriteContext,
  bodyRewritten: boolean,
): OutgoingHttpHeaders {
  const out = rewriteLocationHeaders(headers, ctx);
  const cookies = out['set-cookie'];
  if (cookies !== undefined) {
    out['set-cookie'] = (Array.isArray(cookies) ? cookies : [String(cookies)]).map((c: string) =>
      rewriteSetCookiePath(c, ctx),
    );
  }
  if (bodyRewritten) {
    for (const name of BYTE_EXACT) delete out[name];
    const etag = out.etag;
    if (typeof etag === 'string' && etag.startsWith('"')) out.etag = `W/${etag}`;
  }
  return out;
}
