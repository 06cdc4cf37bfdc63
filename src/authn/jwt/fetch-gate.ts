/**
 * When an issuer may be asked again. Every fetch — successful or not —
 * starts a pause: after a success the ordinary cooldown (an unknown `kid`
 * refetches the keys at most this often), after a failure a backoff that
 * doubles with each failure in a row. jose's own cooldown starts only after a
 * successful fetch, so while an issuer was down every token with an unknown
 * `kid` started another fetch (and with an issuer that never answers, waited
 * the whole timeout). Pure: the clock is passed in.
 */
export interface FetchGateOptions {
  now: () => number;
  /** Pause after a successful fetch (ms). */
  cooldownMs: number;
  /** Pause after the first failure (ms); doubled for each further failure in a row. */
  backoffMs: number;
  /** Longest pause after failures (ms). */
  maxBackoffMs: number;
}

export class FetchGate {
  private nextAt = 0;
  private failures = 0;
  /** Why the last fetch failed; undefined when it succeeded (or none was made yet). */
  lastError: unknown;

  constructor(private readonly o: FetchGateOptions) {}

  /** True when a fetch may be started now. */
  open(): boolean {
    return this.o.now() >= this.nextAt;
  }

  /** True when the last fetch failed. */
  get failing(): boolean {
    return this.failures > 0;
  }

  succeeded(): void {
    this.failures = 0;
    this.lastError = undefined;
    this.nextAt = this.o.now() + this.o.cooldownMs;
  }

  failed(err: unknown): void {
    this.failures++;
    this.lastError = err;
    const pause = Math.min(this.o.backoffMs * 2 ** Math.min(this.failures - 1, 30), this.o.maxBackoffMs);
    this.nextAt = this.o.now() + pause;
  }
}
