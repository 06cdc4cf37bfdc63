/**
 * The response-head deadline (`upstream.responseHeaderTimeout`) of every
 * attempt in flight, kept by one timer and an intrusive list, so that a
 * request costs no timer object of its own.
 *
 * undici's own headers timeout makes one timer per request, and a cancelled
 * one stays referenced until undici's next half-second sweep: under load that
 * was the largest single share of what each request left in V8's old
 * generation, and so of how often the full collections that make the c32
 * tail come (docs/performance.md, "The tail at 32 connections"). All
 * deadlines here have one length, so they expire in the order they started:
 * the list is that order, the timer waits for its head, and an attempt that
 * got its answer unlinks itself in constant time.
 *
 * It counts from the moment the whole request was written (undici's
 * `onRequestSent`), as Go's ResponseHeaderTimeout does, and restarts at an
 * interim (1xx) answer, as undici's did. A streamed upload keeps undici's
 * per-request timeout (upstream-attempt.ts): its rule for a body still going
 * out is undici's.
 */

/** What the list links: an attempt waiting for its response head. */
export interface HeadWaiter {
  headDeadline: number;
  headPrev: HeadWaiter | null;
  headNext: HeadWaiter | null;
  /** Whether it is in the list (a waiter may be stopped twice, or never started). */
  headWaiting: boolean;
  /** The deadline passed with no response head. */
  headExpired(): void;
}

export interface HeadDeadlineClock {
  now(): number;
  /** Calls `fire` once, `ms` from now; returns a cancel function. */
  schedule(fire: () => void, ms: number): () => void;
}

const REAL_CLOCK: HeadDeadlineClock = {
  now: () => performance.now(),
  schedule(fire, ms) {
    const timer = setTimeout(fire, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
};

export class HeadDeadlines {
  private first: HeadWaiter | null = null;
  private last: HeadWaiter | null = null;
  /** When the armed timer fires (Infinity: none armed; NaN: expiring now; -Infinity: closed). */
  private armedFor = Infinity;
  private cancelTimer: (() => void) | undefined;
  private readonly fire = () => this.expire();

  /** `ms` ≤ 0: no deadline (start() does nothing). */
  constructor(
    readonly ms: number,
    private readonly clock: HeadDeadlineClock = REAL_CLOCK,
  ) {}

  /** From now, `w` has `ms` to get its response head. Restarts it if it was waiting. */
  start(w: HeadWaiter): void {
    if (this.ms <= 0) return;
    if (w.headWaiting) this.unlink(w);
    w.headDeadline = this.clock.now() + this.ms;
    w.headWaiting = true;
    w.headPrev = this.last;
    w.headNext = null;
    if (this.last) this.last.headNext = w;
    else this.first = w;
    this.last = w;
    if (this.armedFor === Infinity) this.arm(w.headDeadline);
  }

  /** `w` got its head, failed or was cancelled. */
  stop(w: HeadWaiter): void {
    if (w.headWaiting) this.unlink(w);
  }

  /** Waiters in the list (tests). */
  get size(): number {
    let n = 0;
    for (let w = this.first; w; w = w.headNext) n++;
    return n;
  }

  /** Stops the timer; waiters still listed never expire. */
  close(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.armedFor = -Infinity; // never armed again
  }

  private unlink(w: HeadWaiter): void {
    if (w.headPrev) w.headPrev.headNext = w.headNext;
    else this.first = w.headNext;
    if (w.headNext) w.headNext.headPrev = w.headPrev;
    else this.last = w.headPrev;
    w.headPrev = w.headNext = null;
    w.headWaiting = false;
  }

  private arm(at: number): void {
    this.armedFor = at;
    this.cancelTimer = this.clock.schedule(this.fire, Math.max(0, at - this.clock.now()));
  }

  /** The timer fired: expire what is due, then wait for the next head (the timer is left to lapse otherwise). */
  private expire(): void {
    if (this.armedFor === -Infinity) return;
    // What an expiry does (an attempt failing, another starting) must not arm a second timer meanwhile.
    this.armedFor = NaN;
    this.cancelTimer = undefined;
    const now = this.clock.now();
    for (let w = this.first; w && w.headDeadline <= now; w = this.first) {
      this.unlink(w);
      w.headExpired();
    }
    if (Number.isNaN(this.armedFor)) {
      this.armedFor = Infinity;
      if (this.first) this.arm(this.first.headDeadline);
    }
  }
}
