/**
 * The browser sign-in IdP: discovery (retried in the background until it
 * works, which is what /readyz waits for), the client configuration, and how
 * its claims become a user.
 */
import * as client from 'openid-client';
import type { Config } from '../../config/schema.js';
import { isLoopbackURL } from '../../config/schema/primitives.js';
import { serviceUnavailable } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import { compileClaimMapper, type Claims, type MappedUser } from '../claims/mapping.js';

type OidcConfig = NonNullable<Config['authentication']['oidc']>;

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 30_000;

export class IdentityProvider {
  readonly map: (claims: Claims) => MappedUser;
  private configuration?: client.Configuration;
  private discovering?: Promise<client.Configuration>;
  private retryTimer?: NodeJS.Timeout;
  private retryDelay = RETRY_MIN_MS;
  private closed = false;

  constructor(
    readonly settings: OidcConfig,
    private readonly logger: Logger,
  ) {
    this.map = compileClaimMapper({
      mappings: settings.claimMappings,
      issuerURL: settings.issuer,
      path: 'authentication.oidc',
      allowSystemNames: settings.allowSystemNames,
    });
  }

  ready(): boolean {
    return this.configuration !== undefined;
  }

  /** Starts discovery; retries with backoff until it succeeds or close() is called. */
  start(): void {
    this.config().catch(() => undefined);
  }

  /** The client configuration; a 503 when the IdP has not been reached yet. */
  async config(): Promise<client.Configuration> {
    if (this.configuration) return this.configuration;
    this.discovering ??= this.discover();
    try {
      return await this.discovering;
    } catch {
      throw serviceUnavailable('the sign-in provider cannot be reached right now; try again shortly');
    }
  }

  private async discover(): Promise<client.Configuration> {
    const issuer = new URL(this.settings.issuer);
    const auth = this.settings.clientSecret
      ? client.ClientSecretPost(this.settings.clientSecret)
      : client.None();
    try {
      this.configuration = await client.discovery(issuer, this.settings.clientID, undefined, auth, {
        execute: issuer.protocol === 'http:' && isLoopbackURL(issuer) ? [client.allowInsecureRequests] : [],
        timeout: 5,
      });
      this.logger.info({ issuer: this.settings.issuer }, 'OIDC discovery done');
      return this.configuration;
    } catch (err) {
      this.logger.warn(
        { issuer: this.settings.issuer, err: (err as Error).message },
        'OIDC discovery failed; retrying',
      );
      if (!this.closed) {
        this.retryTimer = setTimeout(() => {
          this.discovering = undefined;
          this.start();
        }, this.retryDelay);
        this.retryTimer.unref();
        this.retryDelay = Math.min(this.retryDelay * 2, RETRY_MAX_MS);
      }
      throw err;
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
  }
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);

/** True when an error (or one of its causes) says the IdP could not be reached, not that it said no. */
export function isUnreachable(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if ((code && NETWORK_CODES.has(code)) || e.name === 'TimeoutError' || e.message === 'fetch failed')
      return true;
  }
  return false;
}
