import type { Decision, RequestAttributes } from '../request/attributes.js';
import type { ReviewBudget } from './review-budget.js';

export interface AuthorizeOptions {
  /**
   * Reviews this decision may send to the API server; when none is left, a decision that needs
   * one rejects with ReviewBudgetExhausted (the portal's per-page cap).
   */
  budget?: ReviewBudget;
}

export interface Authorizer {
  /**
   * A decision the gateway makes alone (the static rules, a cached SubjectAccessReview answer)
   * comes at once, without a promise (this runs on every request); one that must be asked, later.
   */
  authorize(attrs: RequestAttributes, options?: AuthorizeOptions): Decision | Promise<Decision>;
}
