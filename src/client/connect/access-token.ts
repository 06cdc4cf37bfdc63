/**
 * The bearer token `kube-bastion connect` sends, asked for before every new
 * tunnel (so a token refreshed meanwhile is picked up).
 *
 * INTERIM: reads what `kube-bastion login` stored, without refreshing. The
 * terminal-auth work brings `accessTokenFor(origin, store)` in
 * ../credentials.ts (with silent refresh); the lead replaces this file by it
 * (same signature; one import in ./tunnel-client.ts).
 */
import { TokenStore } from '../token-store.js';

export class NotSignedInError extends Error {
  readonly code = 'ERR_NOT_SIGNED_IN';
  constructor(message: string) {
    super(message);
    this.name = 'NotSignedInError';
  }
}

/** A valid access token for exactly `origin`; throws NotSignedInError when there is none. */
export async function accessTokenFor(origin: string, store: TokenStore = new TokenStore()): Promise<string> {
  const stored = await store.load(origin);
  if (!stored) throw new NotSignedInError(`not signed in to ${origin}: run \`kube-bastion login ${origin}\``);
  if (stored.accessTokenExpiresAt <= Date.now()) {
    throw new NotSignedInError(`your sign-in to ${origin} has expired: run \`kube-bastion login ${origin}\``);
  }
  return stored.accessToken;
}
