/**
 * Authorization: may this identity use this verb on this target?
 *
 * Allowed when the namespace fence passes and a static rule or Kubernetes
 * RBAC allows it; node proxy and TCP tunnels only when switched on. The decision itself is
 * pure (policy.ts); only the SubjectAccessReview does IO.
 */
import type { ApiServerAccess } from '../kube/index.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import { compilePolicy, decideLocally, rbacMayAnswer } from './policy.js';
import {
  createSubjectAccessReviewer,
  kubernetesReviewSender,
  type ReviewSender,
} from './subject-access-review.js';
import type { Authorizer } from './types.js';

export { requestAttributes, verbForMethod } from './attributes.js';
export { forbiddenError, forbiddenMessage } from './forbidden.js';
export { checkOrigin, targetOrigin } from './csrf.js';
export type { Authorizer, AuthorizeOptions } from './types.js';
export { ReviewBudget, ReviewBudgetExhausted } from './review-budget.js';

export interface AuthorizerDeps {
  kubeConfig?: ApiServerAccess;
  /** Replaces the Kubernetes client (tests of the authorizer without a cluster). */
  sendReview?: ReviewSender;
  logger: Logger;
  now?: () => number;
  /** Longest wait for a SubjectAccessReview before failing closed (default 5 s). */
  reviewTimeoutMs?: number;
}

export interface GatewayAuthorizer extends Authorizer {
  /** Reviews sent to the API server so far (0 without RBAC). */
  readonly reviewsSent: number;
  /** SubjectAccessReview answers cached now (a bounded cache). */
  readonly answersCached: number;
  close(): void;
}

export function createAuthorizer(config: Config, deps: AuthorizerDeps): GatewayAuthorizer {
  const policy = compilePolicy(config.authorization, config.tunnels.enabled);
  const rbac = config.authorization.kubernetesRBAC;
  let reviewer: ReturnType<typeof createSubjectAccessReviewer> | undefined;
  if (rbac.enabled) {
    // The config loader refused kubernetesRBAC with `kubernetes: none`: there is a cluster.
    const send = deps.sendReview ?? kubernetesReviewSender(deps.kubeConfig!);
    reviewer = createSubjectAccessReviewer(send, {
      allowedTTL: rbac.cacheTTL,
      deniedTTL: rbac.deniedCacheTTL,
      logger: deps.logger,
      now: deps.now,
      timeout: deps.reviewTimeoutMs,
    });
  }
  return {
    authorize(attrs, options) {
      const local = decideLocally(attrs, policy);
      if (!reviewer || !rbacMayAnswer(local)) return local;
      return reviewer.review(attrs, options?.budget);
    },
    get reviewsSent() {
      return reviewer?.sent ?? 0;
    },
    get answersCached() {
      return reviewer?.cached ?? 0;
    },
    close() {
      // Nothing holds a timer or socket today; kept so callers need not change when one does.
    },
  };
}
