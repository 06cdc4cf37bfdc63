/**
 * Kubernetes ServiceAccount tokens (and anything else the cluster's own
 * authenticators accept), checked by asking the apiserver with a TokenReview.
 *
 * The gateway must not become a way to flood the apiserver with junk tokens:
 *   - answers are reused for `cacheTTL`, refusals in their own bounded cache
 *     (junk cannot evict good tokens);
 *   - at most `maxInFlight` reviews wait for the apiserver at once; a token
 *     that would need one more gets a fast 429, without a review;
 *   - a review that takes longer than `timeout` is cancelled (the request is
 *     aborted, so a stalled apiserver holds no sockets) and answered 503.
 * Failures to ask are never cached.
 */
import type { V1TokenReview } from '@kubernetes/client-node';
import type { Config } from '../../config/schema.js';
import type { ApiServerAccess } from '../../kube/api-access.js';
import { jsonPoster } from '../../kube/api-client.js';
import { GatewayError, serviceUnavailable, unauthorized } from '../../errors.js';
import { ClaimError } from '../claims/claim-error.js';
import { checkName } from '../claims/identity-names.js';
import { withAuthenticatedGroup, type Identity } from '../../request/identity.js';
import { TokenCache } from '../token-cache.js';

type Settings = Config['authentication']['serviceAccountTokens'];
type Answer = { identity: Identity } | { rejected: string };
/** Sends one review; `signal` aborts it. */
export type TokenReviewSender = (body: V1TokenReview, signal: AbortSignal) => Promise<V1TokenReview>;

export interface TokenReviewOptions {
  now?: () => number;
  /** Replaces the real API client (tests of the pure parts). */
  send?: TokenReviewSender;
}

export const tooManyReviews = () =>
  new GatewayError(
    429,
    'TooManyRequests',
    'too many tokens are being checked with the Kubernetes API right now; try again shortly',
  );

export class TokenReviewAuthenticator {
  private readonly send: TokenReviewSender;
  private readonly cache: TokenCache<Identity>;
  private readonly now: () => number;
  private inFlight = 0;

  constructor(
    kubeConfig: ApiServerAccess,
    private readonly settings: Settings,
    options: TokenReviewOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.send = options.send ?? kubernetesTokenReviewSender(kubeConfig);
    this.cache = new TokenCache({
      max: 5_000,
      maxRejected: 5_000,
      rejectedTTL: settings.cacheTTL,
      now: this.now,
    });
  }

  authenticate(token: string, key = TokenCache.key(token)): Promise<Identity> {
    return this.cache.remember(key, async () => {
      const answer = await this.review(token);
      if ('rejected' in answer) throw unauthorized(answer.rejected);
      return { value: answer.identity, until: this.now() + this.settings.cacheTTL };
    });
  }

  private async review(token: string): Promise<Answer> {
    if (this.inFlight >= this.settings.maxInFlight) throw tooManyReviews();
    this.inFlight++;
    const body: V1TokenReview = {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token, audiences: this.settings.audiences },
    };
    const signal = AbortSignal.timeout(this.settings.timeout);
    let result: V1TokenReview;
    try {
      result = await this.send(body, signal);
    } catch {
      throw serviceUnavailable(
        signal.aborted
          ? `the Kubernetes API did not answer the TokenReview within ${this.settings.timeout} ms; try again`
          : 'cannot check the token with the Kubernetes API (TokenReview failed); try again',
      );
    } finally {
      this.inFlight--;
    }
    return interpretTokenReview(result, this.settings.audiences);
  }
}

/** A keep-alive JSON POST to the API server; `signal` aborts the request. */
export function kubernetesTokenReviewSender(kubeConfig: ApiServerAccess): TokenReviewSender {
  const post = jsonPoster(kubeConfig);
  return (body, signal) => post<V1TokenReview>('/apis/authentication.k8s.io/v1/tokenreviews', body, signal);
}

/** The apiserver's answer as an Identity or a reason to refuse. Pure. */
export function interpretTokenReview(review: V1TokenReview, audiences: string[] | undefined): Answer {
  const status = review.status;
  if (!status?.authenticated || !status.user?.username) {
    return { rejected: 'token was rejected by the Kubernetes API (TokenReview)' };
  }
  if (audiences && audiences.length > 0 && !(status.audiences ?? []).some((a) => audiences.includes(a))) {
    return { rejected: 'token audience is not one this gateway accepts' };
  }
  const user = status.user;
  const identity: Identity = {
    username: user.username!,
    groups: user.groups ?? [],
    extra: { ...(user.extra ?? {}) },
    method: 'serviceaccount',
  };
  if (user.uid) identity.uid = user.uid;
  // The cluster vouches for these names, but they reach upstreams in headers all the same.
  try {
    checkName(identity.username, 'user name');
    for (const g of identity.groups) checkName(g, 'group');
  } catch (err) {
    if (err instanceof ClaimError) return { rejected: err.message };
    throw err;
  }
  return { identity: withAuthenticatedGroup(identity) };
}
