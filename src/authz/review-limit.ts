/**
 * SubjectAccessReviews waiting for the API server, per user name. Every
 * request that names something new needs one, so without a bound one caller
 * naming thousands of Services (real or not) sent thousands at once: the API
 * server then throttles the gateway's one ServiceAccount, and everyone's
 * reviews fail closed with 503. Per user, not global: a global bound would
 * hand that caller the power to lock everyone else out with 429s instead.
 *
 * Above the portal's 16 checks in flight per page, so a person with two tabs
 * open is not refused.
 */
import { GatewayError } from '../errors.js';

export const MAX_REVIEWS_PER_USER = 32;

export const tooManyUserReviews = () =>
  new GatewayError(
    429,
    'TooManyRequests',
    'too many of your requests are waiting for the Kubernetes API to authorize them; try again shortly',
  );

export class ReviewsPerUser {
  private readonly waiting = new Map<string, number>();

  constructor(private readonly max = MAX_REVIEWS_PER_USER) {}

  /** True when `user` has `max` reviews waiting already: one more is a 429. */
  full(user: string): boolean {
    return (this.waiting.get(user) ?? 0) >= this.max;
  }

  /** Runs `review`, counted as one of `user`'s until it settles. */
  async run<T>(user: string, review: () => Promise<T>): Promise<T> {
    this.waiting.set(user, (this.waiting.get(user) ?? 0) + 1);
    try {
      return await review();
    } finally {
      const left = (this.waiting.get(user) ?? 1) - 1;
      if (left > 0) this.waiting.set(user, left);
      else this.waiting.delete(user);
    }
  }
}
