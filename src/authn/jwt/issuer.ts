/**
 * One trusted bearer-token issuer: its discovery document, its keys and the
 * checks every token from it must pass. Claims mapping is done by the caller.
 */
import { createRemoteJWKSet, customFetch, jwtVerify, type JWTPayload, type RemoteJWKSet } from 'jose';
import type { JwtIssuerConfig } from '../../config/schema.js';
import { fetchJSON, fetchTrusting, readCertificateAuthority, type Fetch } from './tls-fetch.js';
import { IssuerUnavailableError } from './token-errors.js';

/** Asymmetric only: HS* would let anyone holding the (public) JWKS forge tokens; `none` is never accepted. */
export const ACCEPTED_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];
/** Leeway for exp/nbf between our clock and the issuer's. */
export const CLOCK_SKEW_SECONDS = 30;
/** An unknown kid refetches the JWKS at most this often (key rotation without a DoS lever). */
const JWKS_COOLDOWN_MS = 30_000;
/** Keys are refreshed in the background this often; the last good set is kept while the issuer is down. */
const JWKS_REFRESH_MS = 10 * 60_000;
const DISCOVERY_RETRY_MS = 10_000;

export interface IssuerTimers {
  now?: () => number;
}

export class JwtIssuer {
  readonly url: string;
  private readonly fetcher: Fetch;
  private keys?: Promise<RemoteJWKSet>;
  private failedAt = 0;
  /** Why discovery last failed, so every refusal during the retry pause still logs the real reason. */
  private failure?: unknown;
  private refreshTimer?: NodeJS.Timeout;

  constructor(private readonly config: JwtIssuerConfig) {
    this.url = config.issuer.url;
    const ca = config.issuer.certificateAuthority;
    this.fetcher = fetchTrusting(ca === undefined ? undefined : readCertificateAuthority(ca));
  }

  /** Starts discovery early so the first token does not pay for it; failures are retried on demand. */
  warmUp(): void {
    this.jwks().catch(() => undefined);
  }

  private jwks(): Promise<RemoteJWKSet> {
    if (!this.keys) {
      if (this.failure !== undefined && Date.now() - this.failedAt < DISCOVERY_RETRY_MS) {
        return Promise.reject(new IssuerUnavailableError(this.url, this.failure));
      }
      this.keys = this.discover().catch((err: unknown) => {
        this.keys = undefined;
        this.failedAt = Date.now();
        this.failure = err;
        throw new IssuerUnavailableError(this.url, err);
      });
    }
    return this.keys;
  }

  private async discover(): Promise<RemoteJWKSet> {
    const discoveryURL =
      this.config.issuer.discoveryURL ?? `${this.url.replace(/\/$/, '')}/.well-known/openid-configuration`;
    const doc = await fetchJSON(this.fetcher, discoveryURL);
    // Kubernetes checks this too: a discoveryURL may live elsewhere, but it must speak for this issuer.
    if (doc.issuer !== this.url)
      throw new Error(
        `the discovery document at ${discoveryURL} names issuer ${String(doc.issuer)}, not ${this.url}`,
      );
    if (typeof doc.jwks_uri !== 'string') throw new Error('discovery document has no jwks_uri');
    const fetcher = this.fetcher;
    const set = createRemoteJWKSet(new URL(doc.jwks_uri), {
      cooldownDuration: JWKS_COOLDOWN_MS,
      cacheMaxAge: Infinity,
      [customFetch]: (url, init) => fetcher(url, init),
    });
    await set.reload();
    this.refreshTimer = setInterval(() => set.reload().catch(() => undefined), JWKS_REFRESH_MS);
    this.refreshTimer.unref();
    return set;
  }

  /** Verifies signature, issuer, audience and lifetime; returns the payload. Throws jose errors. */
  async verify(token: string): Promise<JWTPayload> {
    const keys = await this.jwks();
    const { payload } = await jwtVerify(token, keys, {
      issuer: this.url,
      audience: this.config.issuer.audiences,
      algorithms: ACCEPTED_ALGORITHMS,
      clockTolerance: CLOCK_SKEW_SECONDS,
      requiredClaims: ['exp'],
    });
    return payload;
  }

  close(): void {
    clearInterval(this.refreshTimer);
  }
}
