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
  authorize(attrs: RequestAttributes, options?: AuthorizeOptions): Promise<Decision>;
}
