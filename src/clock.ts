/**
 * Time as the gateway reads it: the wall clock and one-shot timers, passed
 * in so tests move time forward instead of sleeping. Only what decides on
 * lifetimes takes a Clock (sessions, credential liveness); IO deadlines
 * (connect, command timeouts) run on real timers.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `fn` once after `ms`; returns a function that cancels it. Never keeps the process alive. */
  after(ms: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  after(ms, fn) {
    const timer = setTimeout(fn, Math.max(0, ms));
    timer.unref();
    return () => clearTimeout(timer);
  },
};
