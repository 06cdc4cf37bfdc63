/**
 * Kubernetes ServiceAccount tokens (and anything else the cluster's own
 * authenticators accept), checked by asking the apiserver with a TokenReview.
 * Answers, positive and negative, are reused for `cacheTTL`; failures to ask
 * are never cached.
 */
import { AuthenticationV1Api, type KubeConfig, type V1TokenReview } from '@kubernetes/client-node';
import type { Config } from '../../config/schema.js';
import { serviceUnavailable, unauthorized } from '../../errors.js';
import type { Identity } from '../identity.js';
import { TokenCache } from '../token-cache.js';

type Settings = Config['authentication']['serviceAccountTokens'];
type Answer = { identity: Identity } | { rejected: string };

export class TokenReviewAuthenticator {
  private readonly api: AuthenticationV1Api;
  private readonly cache = new TokenCache<Answer>(5_000);

  constructor(
    kubeConfig: KubeConfig,
    private readonly settings: Settings,
  ) {
    this.api = kubeConfig.makeApiClient(AuthenticationV1Api);
  }

  async authenticate(token: string, key = TokenCache.key(token)): Promise<Identity> {
    const answer = await this.cache.remember(key, async () => ({
      value: await this.review(token),
      until: Date.now() + this.settings.cacheTTL,
    }));
    if ('rejected' in answer) throw unauthorized(answer.rejected);
    return answer.identity;
  }

  private async review(token: string): Promise<Answer> {
    const body: V1TokenReview = {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token, audiences: this.settings.audiences },
    };
    let result: V1TokenReview;
    try {
      result = await this.api.createTokenReview({ body });
    } catch {
      throw serviceUnavailable(
        'cannot check the token with the Kubernetes API (TokenReview failed); try again',
      );
    }
    return interpretTokenReview(result, this.settings.audiences);
  }
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
  return { identity };
}
