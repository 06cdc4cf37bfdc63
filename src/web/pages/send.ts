/**
 * Sends one of the gateway's own HTML pages with the headers every such page
 * carries: a strict Content-Security-Policy (no script at all, styles only
 * from our stylesheet), no caching, no framing, no sniffing.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * @param formTargets origins a form may post to besides our own: the sign-out
 *   form is answered with a redirect to the IdP's end-session endpoint, and
 *   browsers apply `form-action` to that redirect too.
 * @param gatewayOrigin set when the page is served on another host than the
 *   gateway's (a host-routed service): its stylesheet and forms live there.
 */
export function pageCSP(formTargets: readonly string[] = [], gatewayOrigin?: string): string {
  const self = gatewayOrigin ? `'self' ${gatewayOrigin}` : "'self'";
  const forms = [self, ...formTargets].join(' ');
  return `default-src 'none'; style-src ${self}; img-src 'self' data:; form-action ${forms}; frame-ancestors 'none'; base-uri 'none'`;
}

export function pageHeaders(
  formTargets: readonly string[] = [],
  gatewayOrigin?: string,
): Record<string, string> {
  return {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': pageCSP(formTargets, gatewayOrigin),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'same-origin',
  };
}

export function sendPage(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  html: string,
  extra: { formTargets?: readonly string[]; headers?: Record<string, string> } = {},
): void {
  const headers = {
    ...pageHeaders(extra.formTargets),
    ...extra.headers,
    'content-length': String(Buffer.byteLength(html)),
  };
  res.writeHead(status, headers);
  res.end(req.method === 'HEAD' ? undefined : html);
}
