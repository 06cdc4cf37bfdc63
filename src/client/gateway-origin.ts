/**
 * The gateway a terminal user means, from what they typed: an exact origin
 * (scheme, host, port). Credentials are filed under it and only ever sent to
 * it; nothing a server answers (redirects, headers, documents) can change it.
 */

export class GatewayOriginError extends Error {
  readonly code = 'ERR_GATEWAY_ORIGIN';
  constructor(message: string) {
    super(message);
    this.name = 'GatewayOriginError';
  }
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** `bastion.example.com` → `https://bastion.example.com`; plain http only for loopback (local demo). */
export function gatewayOrigin(typed: string): string {
  const text = typed.trim();
  if (text === '') throw new GatewayOriginError('no gateway URL given (e.g. https://bastion.example.com)');
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`);
  } catch {
    throw new GatewayOriginError(`"${typed}" is not a URL (e.g. https://bastion.example.com)`);
  }
  if (url.username || url.password)
    throw new GatewayOriginError('the gateway URL must not carry a user or password');
  const loopback = LOOPBACK.has(url.hostname) || url.hostname.endsWith('.localhost');
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new GatewayOriginError(
      `the gateway URL must be https (plain http only on loopback): ${url.protocol}//${url.host}`,
    );
  }
  return url.origin;
}
