/**
 * Bearer tokens: the issuer is chosen by the token's own `iss` (never by
 * trying each issuer in turn), verified against that issuer's keys, mapped to
 * a user by its claim mappings. Tokens no configured issuer claims go to a
 * TokenReview when ServiceAccount tokens are enabled.
 */
import { decodeJwt, decodeProtectedHeader, errors as joseErrors } from 'jose';
import { sameIssuer } from '../../config/issuer-url.js';
import type { Config } from '../../config/schema.js';
import { serviceUnavailable, unauthorized } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import { ClaimError, compileClaimMapper, type Claims, type MappedUser } from '../claims/mapping.js';
import { withAuthenticatedGroup, type Identity } from '../../request/identity.js';
import type { TokenReviewAuthenticator } from '../serviceaccount/token-review.js';
import { TokenCache } from '../token-cache.js';
import { JwtIssuer, type IssuerTiming } from './issuer.js';
import { describeTokenError, IssuerUnavailableError } from './token-errors.js';

interface TrustedIssuer {
  issuer: JwtIssuer;
  map: (claims: Claims) => MappedUser;
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;
/** Cache lifetime cap, so a token that changes meaning (config reload, key removal) is rechecked soon. */
const MAX_CACHE_MS = 10 * 60_000;

const short = (s: unknown) => {
  const text = String(s);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
};

export class BearerAuthenticator {
  private readonly issuers = new Map<string, TrustedIssuer>();
  private readonly cache: TokenCache<Identity>;
  private readonly now: () => number;

  /**
   * @param ownIssuer the `iss` of the identity assertions this gateway signs for upstreams
   *   (publicURL): such a token is never a credential here, whatever the config says.
   */
  constructor(
    config: Config['authentication'],
    private readonly logger: Logger,
    private readonly tokenReview?: TokenReviewAuthenticator,
    timing: IssuerTiming = {},
    private readonly ownIssuer?: string,
  ) {
    this.now = timing.now ?? Date.now;
    // Refusals are remembered (10 s) so a bad token costs its signature check and CEL once.
    this.cache = new TokenCache({ now: this.now });
    config.jwt.forEach((entry, i) => {
      const map = compileClaimMapper({
        mappings: entry.claimMappings,
        claimValidationRules: entry.claimValidationRules,
        userValidationRules: entry.userValidationRules,
        issuerURL: entry.issuer.url,
        path: `authentication.jwt[${i}]`,
        allowSystemNames: entry.allowSystemNames,
      });
      this.issuers.set(entry.issuer.url, { issuer: new JwtIssuer(entry, timing), map });
    });
  }

  get enabled(): boolean {
    return this.issuers.size > 0 || this.tokenReview !== undefined;
  }

  warmUp(): void {
    for (const { issuer } of this.issuers.values()) issuer.warmUp();
  }

  /**
   * The identity of a token verified before and still remembered, by the token's `TokenCache.key`;
   * undefined otherwise (a refusal included).
   */
  remembered(key: string): Identity | undefined {
    try {
      return this.cache.get(key);
    } catch {
      return undefined;
    }
  }

  /** `key` is `TokenCache.key(token)` when the caller has it already (one hash per request, not two). */
  async authenticate(token: string, key = TokenCache.key(token)): Promise<Identity> {
    const cached = this.cache.get(key);
    if (cached) return cached;

    if (!JWT_SHAPE.test(token)) {
      // Not ours to judge: the cluster may accept opaque tokens (static token files, bootstrap tokens).
      if (this.tokenReview) return this.tokenReview.authenticate(token, key);
      throw unauthorized('bearer token is not a JWT');
    }
    let iss: unknown;
    let exp: unknown;
    try {
      decodeProtectedHeader(token);
      ({ iss, exp } = decodeJwt(token));
    } catch {
      throw unauthorized('bearer token is not a JWT');
    }
    // Every upstream holds assertions of its callers: one sent back here would let any
    // upstream act as whoever called it (token-type confusion, Pomerium CVE-2024-47616).
    // Refused before any issuer or the apiserver sees it.
    if (this.ownIssuer !== undefined && typeof iss === 'string' && sameIssuer(iss, this.ownIssuer))
      throw unauthorized(
        'this is an identity assertion the gateway signed for an upstream; it is not a credential',
      );
    const trusted = typeof iss === 'string' ? this.issuers.get(iss) : undefined;
    if (!trusted) {
      if (this.tokenReview) return this.tokenReview.authenticate(token, key);
      throw unauthorized(
        iss === undefined ? 'token has no "iss" claim' : `token issuer "${short(iss)}" is not trusted`,
      );
    }
    return this.cache.remember(key, async () => ({
      value: await this.verify(trusted, token),
      until: Math.min(Number(exp) * 1000, this.now() + MAX_CACHE_MS),
    }));
  }

  private async verify({ issuer, map }: TrustedIssuer, token: string): Promise<Identity> {
    let claims: Claims;
    try {
      claims = await issuer.verify(token);
    } catch (err) {
      if (
        err instanceof IssuerUnavailableError ||
        !(err instanceof joseErrors.JOSEError) ||
        err instanceof joseErrors.JWKSTimeout
      ) {
        // One warning per failed fetch; the fast refusals in the pause after it are debug lines.
        const level = err instanceof IssuerUnavailableError && err.paused ? 'debug' : 'warn';
        this.logger[level](
          { issuer: issuer.url, err: (err as Error).message },
          'bearer token issuer unavailable',
        );
        throw serviceUnavailable(`cannot fetch the signing keys of issuer ${issuer.url}; try again`);
      }
      const message = describeTokenError(err);
      this.logger.debug({ issuer: issuer.url, code: err.code }, `bearer token rejected: ${message}`);
      throw unauthorized(message);
    }
    try {
      const identity = withAuthenticatedGroup({ ...map(claims), method: 'jwt' });
      this.logger.debug({ issuer: issuer.url, user: identity.username }, 'bearer token verified');
      return identity;
    } catch (err) {
      if (err instanceof ClaimError) throw unauthorized(err.message);
      throw err;
    }
  }

  close(): void {
    for (const { issuer } of this.issuers.values()) issuer.close();
  }
}
