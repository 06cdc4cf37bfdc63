/**
 * A cap on the SubjectAccessReviews one piece of work may send. The portal
 * asks about many Services for one page; without a cap a single page load
 * by a person with no grants costs one review per Service port. Answers
 * already cached, or shared with a review in flight, cost nothing.
 */
export class ReviewBudget {
  private spentCount = 0;

  constructor(readonly limit: number) {}

  /** Takes one review from the budget; false when none is left. */
  take(): boolean {
    if (this.spentCount >= this.limit) return false;
    this.spentCount++;
    return true;
  }

  get spent(): number {
    return this.spentCount;
  }
}

/** A decision that would have needed a review the budget no longer had. */
export class ReviewBudgetExhausted extends Error {
  override name = 'ReviewBudgetExhausted';
  readonly code = 'REVIEW_BUDGET_EXHAUSTED';
  constructor() {
    super('the SubjectAccessReview budget of this request is spent');
  }
}
