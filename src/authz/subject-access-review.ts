/**
 * Kubernetes RBAC through SubjectAccessReview, with the caching the
 * apiserver's own webhook authorizer does: allowed and denied answers are
 * reused for their own TTLs, identical reviews in flight are collapsed into
 * one call, and when the API server cannot answer (and nothing fresh is
 * cached) the request fails closed with 503 — never open. A review that
 * times out is aborted (a stalled API server holds no sockets), and one user
 * has at most MAX_REVIEWS_PER_USER waiting (review-limit.ts).
 */
import type { V1SubjectAccessReview } from '@kubernetes/client-node';
import type { ApiServerAccess } from '../kube/api-access.js';
import { boundedCache } from '../bounded-cache.js';
import { identityCacheKey } from '../request/identity.js';
import { serviceUnavailable } from '../errors.js';
import { jsonPoster } from '../kube/api-client.js';
import type { Logger } from '../observability/logger.js';
import { ReviewBudgetExhausted, type ReviewBudget } from './review-budget.js';
import { ReviewsPerUser, tooManyUserReviews } from './review-limit.js';
import type { Decision, RequestAttributes } from '../request/attributes.js';
import { SingleFlight } from '../single-flight.js';

/** Sends one review and returns the API server's answer (its `status`); `signal` aborts it. */
export type ReviewSender = (
  body: V1SubjectAccessReview,
  signal: AbortSignal,
) => Promise<V1SubjectAccessReview>;

export interface ReviewerOptions {
  /** How long an allowed answer is reused (ms). */
  allowedTTL: number;
  /** How long a denied answer is reused (ms). */
  deniedTTL: number;
  /** Longest wait for the API server before failing closed (ms). */
  timeout?: number;
  /** Most answers kept. */
  maxEntries?: number;
  /** Reviews one user may have waiting for the API server (default MAX_REVIEWS_PER_USER). */
  maxPerUser?: number;
  logger: Logger;
  now?: () => number;
}

export interface SubjectAccessReviewer {
  /** A cached answer at once; otherwise the review's, shared with an identical one in flight when possible. */
  review(attrs: RequestAttributes, budget?: ReviewBudget): Decision | Promise<Decision>;
  /** Reviews actually sent to the API server (tests, metrics). */
  readonly sent: number;
  /** Answers held now (at most `maxEntries`). */
  readonly cached: number;
}

export const BY_RBAC = 'kubernetes-rbac';

export function reviewBody(attrs: RequestAttributes): V1SubjectAccessReview {
  const { user } = attrs;
  return {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: {
      user: user.username,
      uid: user.uid,
      groups: user.groups,
      extra: user.extra,
      resourceAttributes: {
        verb: attrs.verb,
        group: '',
        version: 'v1',
        resource: attrs.resource,
        subresource: attrs.subresource,
        namespace: attrs.namespace,
        name: attrs.name,
      },
    },
  };
}

/** Everything the answer depends on, in a key of fixed size for the caller (group order does not matter). */
function cacheKey(attrs: RequestAttributes): string {
  return JSON.stringify([
    identityCacheKey(attrs.user),
    attrs.verb,
    attrs.resource,
    // `create` on services/proxy (a WebSocket) is not `create` on services/portforward (a tunnel).
    attrs.subresource,
    attrs.namespace,
    attrs.name,
  ]);
}

/**
 * The answer within `ms`, else a rejection — and the request aborted, so its socket is not left
 * waiting on a stalled API server (the race alone also covers a sender that ignores the signal).
 */
function sendWithin(send: ReviewSender, body: V1SubjectAccessReview, ms: number) {
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abort.abort();
      reject(new Error(`no answer within ${ms} ms`));
    }, ms);
  });
  return Promise.race([send(body, abort.signal), expired]).finally(() => clearTimeout(timer));
}

export function kubernetesReviewSender(kubeConfig: ApiServerAccess): ReviewSender {
  // The portal sends many reviews per page: a plain keep-alive POST, not the generated client.
  const post = jsonPoster(kubeConfig);
  return (body, signal) =>
    post<V1SubjectAccessReview>('/apis/authorization.k8s.io/v1/subjectaccessreviews', body, signal);
}

export function createSubjectAccessReviewer(
  send: ReviewSender,
  options: ReviewerOptions,
): SubjectAccessReviewer {
  const now = options.now ?? (() => performance.now());
  const cache = boundedCache<string, Decision>({
    max: options.maxEntries ?? 10_000,
    ttl: Math.max(options.allowedTTL, options.deniedTTL, 1),
    now,
  });
  const inFlight = new SingleFlight<string, Decision>();
  const perUser = new ReviewsPerUser(options.maxPerUser);
  let sent = 0;

  async function ask(attrs: RequestAttributes, key: string): Promise<Decision> {
    sent++;
    let answer: V1SubjectAccessReview;
    try {
      answer = await sendWithin(send, reviewBody(attrs), options.timeout ?? 5_000);
    } catch (err) {
      options.logger.warn(
        { err, user: attrs.user.username, namespace: attrs.namespace },
        'SubjectAccessReview failed',
      );
      throw serviceUnavailable(
        'authorization is unavailable: the Kubernetes API server did not answer, try again shortly',
      );
    }
    const status = answer.status;
    const decision: Decision = {
      allowed: status?.allowed === true && status.denied !== true,
      by: BY_RBAC,
      ...(status?.reason ? { reason: status.reason } : {}),
    };
    const ttl = decision.allowed ? options.allowedTTL : options.deniedTTL;
    if (ttl > 0) cache.set(key, decision, { ttl });
    return decision;
  }

  return {
    get sent() {
      return sent;
    },
    get cached() {
      return cache.size;
    },
    review(attrs, budget) {
      const key = cacheKey(attrs);
      const cached = cache.get(key);
      if (cached) return cached;
      const shared = inFlight.joining(key);
      if (shared) return shared;
      // Refused before the budget is spent or a flight is started: a 429 costs the API server nothing.
      if (perUser.full(attrs.user.username)) return Promise.reject(tooManyUserReviews());
      if (budget && !budget.take()) return Promise.reject(new ReviewBudgetExhausted());
      return inFlight.run(key, () => perUser.run(attrs.user.username, () => ask(attrs, key)));
    },
  };
}
