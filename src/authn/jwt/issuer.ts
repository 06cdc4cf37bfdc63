/**
 * One trusted bearer-token issuer: its discovery document, its keys and the
 * checks every token from it must pass. Claims mapping is done by the caller.
 *
 * The issuer is a dependency an attacker can lean on: every fetch, whether
 * discovery or keys, is paced by a FetchGate (a failure starts a backoff, not
 * only a success a cooldown), so a dead or stalled issuer costs one fetch per
 * pause, never one per token.
 */
import { errors, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import type { JwtIssuerConfig } from '../../config/schema.js';
import { FetchGate } from './fetch-gate.js';
import { IssuerKeys } from './issuer-keys.js';
import { fetchJSON, fetchTrusting, type Fetch } from './tls-fetch.js';
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
export const JWKS_COOLDOWN_MS = 30_000;
/** After a failed fetch the issuer is asked again after this long, doubling per failure up to the max. */
export const FETCH_BACKOFF_MS = 1_000;
export const FETCH_MAX_BACKOFF_MS = 60_000;
/** Keys are refreshed in the background this often; the last good set is kept while the issuer is down. */
const JWKS_REFRESH_MS = 10 * 60_000;

export interface IssuerTiming {
  /** Wall clock in ms, for cooldowns and backoff (tests advance it). */
  now?: () => number;
  /** Longest wait for the discovery document or the key set (ms); default 5 s. */
  fetchTimeoutMs?: number;
}

export class JwtIssuer {
  readonly url: string;
  private readonly fetcher: Fetch;
  private readonly now: () => number;
  private readonly timeoutMs: number;
  private readonly discovery: FetchGate;
  private keys?: IssuerKeys;
  private discovering?: Promise<IssuerKeys>;
  private refreshTimer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly config: JwtIssuerConfig,
    timing: IssuerTiming = {},
  ) {
    this.url = config.issuer.url;
    // PEM text: the config loader read the file it may name, and checked it.
    this.fetcher = fetchTrusting(config.issuer.certificateAuthority);
    this.now = timing.now ?? Date.now;
    this.timeoutMs = timing.fetchTimeoutMs ?? 5_000;
    this.discovery = this.gate();
  }

  private gate(): FetchGate {
    return new FetchGate({
      now: this.now,
      cooldownMs: JWKS_COOLDOWN_MS,
      backoffMs: FETCH_BACKOFF_MS,
      maxBackoffMs: FETCH_MAX_BACKOFF_MS,
    });
  }

  /** Starts discovery early so the first token does not pay for it; failures are retried on demand. */
  warmUp(): void {
    this.keySet().catch(() => undefined);
  }

  /** JWKS fetches started so far (0 before discovery). */
  get keyFetches(): number {
    return this.keys?.fetches ?? 0;
  }

  private keySet(): Promise<IssuerKeys> {
    if (this.keys) return Promise.resolve(this.keys);
    if (this.discovering) return this.discovering;
    if (!this.discovery.open())
      return Promise.reject(new IssuerUnavailableError(this.url, this.discovery.lastError, true));
    const flight: Promise<IssuerKeys> = this.discover()
      .then(
        (keys) => {
          this.discovery.succeeded();
          this.keys = keys;
          this.startRefresh(keys);
          return keys;
        },
        (err: unknown) => {
          this.discovery.failed(err);
          throw err instanceof IssuerUnavailableError ? err : new IssuerUnavailableError(this.url, err);
        },
      )
      .finally(() => {
        if (this.discovering === flight) this.discovering = undefined;
      });
    this.discovering = flight;
    return flight;
  }

  private async discover(): Promise<IssuerKeys> {
    const discoveryURL =
      this.config.issuer.discoveryURL ?? `${this.url.replace(/\/$/, '')}/.well-known/openid-configuration`;
    const doc = await fetchJSON(this.fetcher, discoveryURL, this.timeoutMs);
    // Kubernetes checks this too: a discoveryURL may live elsewhere, but it must speak for this issuer.
    if (doc.issuer !== this.url)
      throw new Error(
        `the discovery document at ${discoveryURL} names issuer ${String(doc.issuer)}, not ${this.url}`,
      );
    if (typeof doc.jwks_uri !== 'string') throw new Error('discovery document has no jwks_uri');
    const jwksURL = new URL(doc.jwks_uri).href;
    const keys = new IssuerKeys(this.url, () => this.fetchKeySet(jwksURL), this.gate());
    await keys.refresh();
    return keys;
  }

  private async fetchKeySet(url: string): Promise<JSONWebKeySet> {
    const body = await fetchJSON(this.fetcher, url, this.timeoutMs);
    if (!Array.isArray(body.keys)) throw new Error(`GET ${url}: not a JSON Web Key Set`);
    return body as unknown as JSONWebKeySet;
  }

  private startRefresh(keys: IssuerKeys): void {
    if (this.closed) return;
    this.refreshTimer = setInterval(() => keys.refresh().catch(() => undefined), JWKS_REFRESH_MS);
    this.refreshTimer.unref();
  }

  /** Verifies signature, issuer, audience and lifetime; returns the payload. Throws jose errors. */
  async verify(token: string): Promise<JWTPayload> {
    const keys = await this.keySet();
    const { payload } = await jwtVerify(token, keys.getKey, {
      issuer: this.url,
      audience: this.config.issuer.audiences,
      algorithms: ACCEPTED_ALGORITHMS,
      clockTolerance: CLOCK_SKEW_SECONDS,
      requiredClaims: ['exp'],
      currentDate: new Date(this.now()),
    });
    checkFiniteTimes(payload);
    return payload;
  }

  close(): void {
    this.closed = true;
    clearInterval(this.refreshTimer);
  }
}

/**
 * `"exp":1e400` is Infinity to JSON.parse, and jose accepts it as a token that
 * never ends; the apiserver's JSON decoder refuses the number. Read the way
 * the apiserver reads it: a time claim must be a finite number.
 */
function checkFiniteTimes(payload: JWTPayload): void {
  for (const claim of ['exp', 'nbf', 'iat'] as const) {
    const value = payload[claim];
    if (value !== undefined && !Number.isFinite(value))
      throw new errors.JWTClaimValidationFailed(
        `"${claim}" claim must be a finite number`,
        payload,
        claim,
        'invalid',
      );
  }
}
