/**
 * A retry budget (as in Finagle and Linkerd): retries may add at most
 * `percent` % to the requests of the last `windowMs`, plus a small floor so a
 * quiet Service can still retry its occasional failure. During an outage every
 * request fails; without a budget each would be tried `retries + 1` times and
 * the outage would multiply the load on the endpoints still standing.
 */
export interface RetryBudgetOptions {
  /** Retries as a share of recent requests (`upstream.loadBalancing.retryBudgetPercent`). */
  percent: number;
  /** Retries always allowed per second of window, whatever the traffic. */
  minRetriesPerSecond?: number;
  windowMs?: number;
  now: () => number;
}

const BUCKETS = 10;
const slotOf = (bucket: number): number => ((bucket % BUCKETS) + BUCKETS) % BUCKETS;

export class RetryBudget {
  private readonly requests = new Float64Array(BUCKETS);
  private readonly retries = new Float64Array(BUCKETS);
  private readonly bucketMs: number;
  private readonly floor: number;
  private readonly share: number;
  private bucket = Number.NEGATIVE_INFINITY;

  constructor(private readonly opts: RetryBudgetOptions) {
    const windowMs = opts.windowMs ?? 10_000;
    this.bucketMs = windowMs / BUCKETS;
    this.floor = ((opts.minRetriesPerSecond ?? 1) * windowMs) / 1000;
    this.share = opts.percent / 100;
  }

  /** Call once per client request (not per attempt). */
  recordRequest(): void {
    this.requests[this.advance()]++;
  }

  /** True, and the retry is counted, when the budget allows one more retry now. */
  tryRetry(): boolean {
    const slot = this.advance();
    let requests = 0;
    let retries = 0;
    for (let i = 0; i < BUCKETS; i++) {
      requests += this.requests[i];
      retries += this.retries[i];
    }
    if (retries + 1 > this.floor + this.share * requests) return false;
    this.retries[slot]++;
    return true;
  }

  /** Clears the buckets time has moved past; returns the current one. */
  private advance(): number {
    const bucket = Math.floor(this.opts.now() / this.bucketMs);
    const passed = bucket - this.bucket;
    if (passed >= BUCKETS) {
      this.requests.fill(0);
      this.retries.fill(0);
    } else {
      for (let i = 1; i <= passed; i++) {
        const slot = slotOf(this.bucket + i);
        this.requests[slot] = 0;
        this.retries[slot] = 0;
      }
    }
    if (passed > 0) this.bucket = bucket;
    return slotOf(this.bucket);
  }
}
