/**
 * The terminal's calls to the gateway: the token endpoint (every grant),
 * device authorization, revocation and whoami. Every call goes to a path on
 * the one origin the caller passes (the one the user typed, gateway-origin.ts);
 * redirects are never followed — an answer that points elsewhere is an error,
 * so no credential can be walked to another host (cloudflared VULN-141860).
 */
import {
  GRANT_TYPES,
  TERMINAL_PATHS,
  type DeviceAuthorizationResponse,
  type TerminalIdentity,
  type TokenResponse,
} from '../authn/terminal/protocol.js';
import { VERSION } from '../version.js';
import { printable } from './printable.js';

/** How long one call may take before it fails (a hung gateway must not hang `kube-bastion token`). */
const CALL_TIMEOUT_MS = 30_000;

/** The gateway refused, or could not be reached; `code` is the OAuth error when it sent one. */
export class GatewayCallError extends Error {
  constructor(
    message: string,
    readonly status: number,
    /** The OAuth error code (an OAuthErrorCode of protocol.ts) when the gateway sent one. */
    readonly code?: string,
  ) {
    super(message);
    this.name = 'GatewayCallError';
  }
}

async function call(origin: string, path: string, init: RequestInit): Promise<unknown> {
  const url = new URL(path, origin);
  let res: Response;
  try {
    res = await fetch(url, {
      ...init,
      redirect: 'manual',
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
      headers: { accept: 'application/json', 'user-agent': `kube-bastion/${VERSION}`, ...init.headers },
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new GatewayCallError(
      `cannot reach ${origin}: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
      0,
    );
  }
  const text = await res.text();
  if (res.status >= 300 && res.status < 400) {
    throw new GatewayCallError(
      `${origin} answered ${path} with a redirect (${res.status}); credentials are only ever sent to the URL you typed, so it was not followed`,
      res.status,
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new GatewayCallError(`${origin} answered ${path} with ${res.status} and no JSON`, res.status);
  }
  if (!res.ok) throw refusal(origin, res.status, body);
  return body;
}

/**
 * An OAuth error (`{error, error_description}`) or a Kubernetes Status
 * (`{message}`) as one error. Its message is the server's text made printable
 * here, where it enters: it ends up on the person's terminal.
 */
function refusal(origin: string, status: number, body: unknown): GatewayCallError {
  const b = (body ?? {}) as { error?: unknown; error_description?: unknown; message?: unknown };
  if (typeof b.error === 'string') {
    const text = typeof b.error_description === 'string' ? b.error_description : b.error;
    return new GatewayCallError(printable(text), status, b.error);
  }
  return new GatewayCallError(
    typeof b.message === 'string' ? printable(b.message) : `${origin} answered ${status}`,
    status,
  );
}

const form = (fields: Record<string, string>): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields).toString(),
});

/**
 * A bearer token's characters (RFC 6750 §2.1 b64token; a JWT is one).
 * `kube-bastion token` prints it to the person's terminal and into headers:
 * anything else (ESC, CR, bidi) from a hostile gateway is refused here.
 */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

function tokens(body: unknown): TokenResponse {
  const t = body as Partial<TokenResponse>;
  if (typeof t.access_token !== 'string' || typeof t.expires_in !== 'number')
    throw new GatewayCallError('the gateway answered without an access token', 200);
  const refresh: unknown = t.refresh_token;
  // A refresh token is a string too: `null` or a list would pass the pattern as text and be stored.
  if (
    !B64TOKEN.test(t.access_token) ||
    (refresh !== undefined && (typeof refresh !== 'string' || !B64TOKEN.test(refresh)))
  )
    throw new GatewayCallError('the gateway answered with a malformed access token', 200);
  return t as TokenResponse;
}

export async function exchangeCode(origin: string, code: string, verifier: string): Promise<TokenResponse> {
  return tokens(
    await call(
      origin,
      TERMINAL_PATHS.token,
      form({ grant_type: GRANT_TYPES.code, code, code_verifier: verifier }),
    ),
  );
}

export async function refreshTokens(origin: string, refreshToken: string): Promise<TokenResponse> {
  return tokens(
    await call(
      origin,
      TERMINAL_PATHS.token,
      form({ grant_type: GRANT_TYPES.refresh, refresh_token: refreshToken }),
    ),
  );
}

export async function startDeviceAuthorization(
  origin: string,
  clientName: string,
): Promise<DeviceAuthorizationResponse> {
  const body = (await call(
    origin,
    TERMINAL_PATHS.device,
    form({ client_name: clientName }),
  )) as DeviceAuthorizationResponse;
  if (typeof body.device_code !== 'string' || typeof body.user_code !== 'string')
    throw new GatewayCallError('the gateway answered without a device code', 200);
  return body;
}

export async function pollDeviceToken(origin: string, deviceCode: string): Promise<TokenResponse> {
  return tokens(
    await call(
      origin,
      TERMINAL_PATHS.token,
      form({ grant_type: GRANT_TYPES.device, device_code: deviceCode }),
    ),
  );
}

/** Ends the sign-in the token belongs to (every token of its family), at the gateway. */
export async function revokeToken(origin: string, token: string): Promise<void> {
  await call(origin, TERMINAL_PATHS.revoke, form({ token }));
}

export interface WhoAmI extends TerminalIdentity {
  method: string;
}

export async function whoami(origin: string, accessToken: string): Promise<WhoAmI> {
  return (await call(origin, TERMINAL_PATHS.whoami, {
    headers: { authorization: `Bearer ${accessToken}` },
  })) as WhoAmI;
}
