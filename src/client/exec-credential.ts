/**
 * The `client.authentication.k8s.io/v1` ExecCredential a kubeconfig `exec`
 * plugin prints: the access token and when it expires, so the tool asks
 * again (and gets a refreshed one) in time.
 */
import type { StoredCredentials } from './token-store.js';

export interface ExecCredential {
  apiVersion: 'client.authentication.k8s.io/v1';
  kind: 'ExecCredential';
  spec: { interactive: boolean };
  status: { token: string; expirationTimestamp: string };
}

export function execCredential(c: StoredCredentials): ExecCredential {
  return {
    apiVersion: 'client.authentication.k8s.io/v1',
    kind: 'ExecCredential',
    spec: { interactive: false },
    // RFC 3339 without fractions, as client-go writes it.
    status: {
      token: c.accessToken,
      expirationTimestamp: new Date(c.accessTokenExpiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    },
  };
}
