/**
 * A valid access token for a gateway, for any command that calls it
 * (`token`, `whoami`, `connect`): the stored one while it has time left, else
 * a new one from the refresh token — one refresh at a time per gateway across
 * every process of the user (refresh-lock.ts) and within this one, since a
 * refresh token is good for one use only.
 *
 * Credentials are looked up by the exact origin the user typed and only ever
 * sent there (token-store.ts, gateway-api.ts).
 */
import { SingleFlight } from '../single-flight.js';
import { gatewayOrigin } from './gateway-origin.js';
import { GatewayCallError, refreshTokens } from './gateway-api.js';
import { withLock } from './refresh-lock.js';
import { TokenStore, type StoredCredentials } from './token-store.js';
import type { TokenResponse } from '../authn/terminal/protocol.js';

/** No usable credentials for this gateway (`origin` empty: no gateway known): the user has to run `kube-bastion login`. */
export class NotSignedInError extends Error {
  readonly code = 'ERR_NOT_SIGNED_IN';
  constructor(
    readonly origin: string,
    why = 'not signed in',
  ) {
    super(
      origin
        ? `${why} to ${origin}; run: kube-bastion login ${origin}`
        : `${why}; run: kube-bastion login <gateway-url> (or pass --server <gateway-url>)`,
    );
    this.name = 'NotSignedInError';
  }
}

/** Renew this long before the end, so a request started now still arrives with a valid token. */
const MARGIN_MS = 60_000;

/** Whether the stored access token is good for a while yet (a quarter of a short lifetime). */
export function isFresh(c: StoredCredentials, now = Date.now()): boolean {
  const lifetime = c.accessTokenIssuedAt ? c.accessTokenExpiresAt - c.accessTokenIssuedAt : Infinity;
  return c.accessTokenExpiresAt - now > Math.min(MARGIN_MS, lifetime / 4);
}

/** What the store keeps of a token answer: times made absolute on this machine's clock. */
export function storedFrom(origin: string, t: TokenResponse, now = Date.now()): StoredCredentials {
  return {
    origin,
    accessToken: t.access_token,
    accessTokenIssuedAt: now,
    accessTokenExpiresAt: now + t.expires_in * 1000,
    refreshToken: t.refresh_token,
    refreshTokenExpiresAt: now + t.refresh_token_expires_in * 1000,
    identity: { username: t.identity.username, groups: t.identity.groups, email: t.identity.email },
  };
}

const inProcess = new SingleFlight<string, StoredCredentials>();

async function refreshed(origin: string, store: TokenStore): Promise<StoredCredentials> {
  return withLock(store.lockFile(origin), async () => {
    // Another process may have refreshed while this one waited for the lock.
    const current = await store.load(origin);
    if (!current) throw new NotSignedInError(origin);
    if (isFresh(current)) return current;
    if (!current.refreshToken || (current.refreshTokenExpiresAt ?? Infinity) <= Date.now())
      throw new NotSignedInError(origin, 'your sign-in has ended');
    let answer: TokenResponse;
    try {
      answer = await refreshTokens(origin, current.refreshToken);
    } catch (err) {
      if (err instanceof GatewayCallError && err.code === 'invalid_grant') {
        // Revoked, replayed or past its end: these credentials will never work again.
        await store.delete(origin);
        throw new NotSignedInError(origin, `your sign-in has ended (${err.message})`);
      }
      throw err;
    }
    const next = storedFrom(origin, answer);
    await store.save(next, { asDefault: false });
    return next;
  });
}

/**
 * A valid access token for `origin` (normalized as gateway-origin.ts does),
 * refreshed when needed. Throws NotSignedInError when the user must log in,
 * GatewayCallError when the gateway cannot be reached or refuses otherwise.
 */
export async function accessTokenFor(origin: string, store: TokenStore = new TokenStore()): Promise<string> {
  const exact = gatewayOrigin(origin);
  const stored = await store.load(exact);
  if (!stored) throw new NotSignedInError(exact);
  if (isFresh(stored)) return stored.accessToken;
  const key = `${store.dir}\n${exact}`;
  return (await inProcess.run(key, () => refreshed(exact, store))).accessToken;
}

/** The stored credentials after making sure the access token is valid (for ExecCredential's expiry). */
export async function credentialsFor(
  origin: string,
  store: TokenStore = new TokenStore(),
): Promise<StoredCredentials> {
  const exact = gatewayOrigin(origin);
  await accessTokenFor(exact, store);
  const stored = await store.load(exact);
  if (!stored) throw new NotSignedInError(exact);
  return stored;
}
