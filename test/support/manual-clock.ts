/**
 * A Clock that only moves when the test says so: `advance(ms)` runs every
 * timer that falls due on the way, in order, with `now()` at its due time.
 * Starts at the real time, so timestamps still look like timestamps to the
 * real IdP and Redis the tests talk to.
 */
import type { Clock } from '../../src/clock.js';

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
}

export class ManualClock implements Clock {
  private current: number;
  private timers: Timer[] = [];
  private seq = 0;
  private waiters: { count: number; resolve: () => void }[] = [];

  constructor(start = Date.now()) {
    this.current = start;
  }

  readonly now = (): number => this.current;

  readonly after = (ms: number, fn: () => void): (() => void) => {
    const timer = { at: this.current + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.push(timer);
    this.wakeWaiters();
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  };

  /** Moves time forward by `ms`, firing the timers due on the way. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.current = Math.max(this.current, due.at);
      due.fn();
    }
    this.current = target;
  }

  /** Timers not yet fired. */
  pending(): number {
    return this.timers.length;
  }

  /**
   * Resolves once at least `count` timers are waiting: the code under test has
   * reached the point where it waits for time (e.g. a shutdown delay), so
   * `advance` now moves it on. No polling, no sleep.
   */
  whenPending(count = 1): Promise<void> {
    if (this.timers.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  private wakeWaiters(): void {
    const ready = this.waiters.filter((w) => this.timers.length >= w.count);
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  }
}
