/**
 * The one place a GatewayError becomes bytes: a Kubernetes `Status` for API
 * clients, an HTML page for browsers, a raw HTTP response on an upgrade socket.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { GatewayError, internalError } from '../errors.js';
import { renderErrorPage } from './pages/error-page.js';
import { pageHeaders } from './pages/send.js';
import { renderSignInPage } from './pages/sign-in.js';

export function wantsHTML(req: IncomingMessage): boolean {
  const accept = req.headers.accept;
  return typeof accept === 'string' && accept.includes('text/html');
}

/** Anything thrown on the request path, as a GatewayError (unknown errors become a 500 without detail). */
export function asGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  return internalError('unexpected error; see the gateway log');
}

export interface ErrorRenderOptions {
  /**
   * Where an unauthenticated browser is sent to sign in; absent when browser sign-in is off.
   * An absolute URL (for requests on another host, e.g. host-routed services) makes `rd` absolute too.
   */
  loginPath?: string;
  /** Shown on HTML pages (e.g. the signed-in user on a 403). */
  username?: string;
  requestId?: string;
  /**
   * The gateway's base URL. Without it, an absolute loginPath stands for it
   * (both are publicURL). Pages served on another host link back here.
   */
  publicURL?: string;
}

/**
 * The gateway's origin when this request came in on another host (a
 * host-routed service, whose `/` is the upstream app's); undefined on the
 * gateway's own host, where root-relative links are right.
 */
function gatewayOriginFor(req: IncomingMessage, opts: ErrorRenderOptions): string | undefined {
  const base =
    opts.publicURL ?? (opts.loginPath && /^https?:\/\//.test(opts.loginPath) ? opts.loginPath : undefined);
  if (!base || !req.headers.host) return undefined;
  const url = new URL(base);
  return req.headers.host.toLowerCase() === url.host ? undefined : url.origin;
}

/**
 * Where to come back after signing in: the path, or — when sign-in lives on
 * another host than this request (a host-routed service) — the full URL,
 * on the sign-in URL's scheme.
 */
function returnTo(req: IncomingMessage, loginPath: string): string {
  const path = req.url ?? '/';
  if (!/^https?:\/\//.test(loginPath) || !req.headers.host) return path;
  const login = new URL(loginPath);
  if (req.headers.host === login.host) return path;
  return `${login.protocol}//${req.headers.host}${path}`;
}

const isSignInRoute = (req: IncomingMessage) => /^\/auth\/(login|callback)(\?|$)/.test(req.url ?? '');

export function sendError(
  req: IncomingMessage,
  res: ServerResponse,
  err: GatewayError,
  opts: ErrorRenderOptions = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const html = wantsHTML(req);
  if (err.status === 401 && html && opts.loginPath) {
    res.writeHead(302, {
      location: `${opts.loginPath}?rd=${encodeURIComponent(returnTo(req, opts.loginPath))}`,
      'cache-control': 'no-store',
      'content-length': '0',
    });
    res.end();
    return;
  }
  const gatewayOrigin = html ? gatewayOriginFor(req, opts) : undefined;
  const headers: Record<string, string> = html
    ? pageHeaders([], gatewayOrigin)
    : {
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        'content-type': 'application/json',
      };
  if (err.status === 401) headers['www-authenticate'] = 'Bearer realm="kube-bastion"';
  if (opts.requestId) headers['x-request-id'] = opts.requestId;
  let body: string;
  if (html && opts.loginPath && isSignInRoute(req)) {
    // A failed sign-in is not a broken URL: say what went wrong and offer to start again.
    body = renderSignInPage({
      methods: [{ label: 'Sign in again', href: opts.loginPath }],
      error: err.message,
    });
  } else if (html) {
    body = renderErrorPage(err, {
      username: opts.username,
      requestId: opts.requestId,
      loginPath: opts.loginPath,
      gatewayOrigin,
    });
  } else {
    body = JSON.stringify(err.toStatus());
  }
  headers['content-length'] = String(Buffer.byteLength(body));
  res.writeHead(err.status, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Payload Too Large',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** Answers an upgrade request that will not be proxied, then closes the socket. */
export function sendUpgradeError(socket: Duplex, err: GatewayError): void {
  if (socket.destroyed || socket.writableEnded) return;
  const body = JSON.stringify(err.toStatus());
  const lines = [
    `HTTP/1.1 ${err.status} ${STATUS_TEXT[err.status] ?? 'Error'}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
  ];
  if (err.status === 401) lines.push('WWW-Authenticate: Bearer realm="kube-bastion"');
  socket.end(lines.join('\r\n') + '\r\n\r\n' + body);
  socket.destroySoon?.();
}

declare module 'node:stream' {
  interface Duplex {
    destroySoon?(): void;
  }
}
