/**
 * A fixed-window counter per key (a client address, a user), bounded in
 * size, in this process: unauthenticated device authorizations and user-code
 * guesses are capped per replica (RFC 8628 §5.1, §5.2). Pacing is not a
 * lifetime, so it reads a monotonic clock, not the injected wall clock.
 */
import { boundedCache } from '../../bounded-cache.js';

export class RateLimit {
  private readonly windows = boundedCache<string, { start: number; count: number }>({ max: 50_000 });

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly monotonic: () => number = () => performance.now(),
  ) {}

  /** Counts one event for `key`; false when the key is over its limit in this window. */
  take(key: string): boolean {
    const now = this.monotonic();
    const w = this.windows.get(key);
    if (!w || now - w.start >= this.windowMs) {
      this.windows.set(key, { start: now, count: 1 });
      return true;
    }
    w.count++;
    return w.count <= this.limit;
  }

  /** Whether `key` is over its limit now, without counting. */
  exceeded(key: string): boolean {
    const w = this.windows.get(key);
    return !!w && this.monotonic() - w.start < this.windowMs && w.count >= this.limit;
  }
}
