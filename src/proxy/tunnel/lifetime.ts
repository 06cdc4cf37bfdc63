/**
 * How long a tunnel may live: `tunnels.maxLifetime` from its opening, and
 * `tunnels.idleTimeout` from the last byte moved in either direction (pings
 * are not bytes: keepalive must not keep an abandoned tunnel open for ever).
 * Timers come from the gateway's Clock, so tests move time instead of waiting.
 */
import type { Clock } from '../../clock.js';

export interface LifetimeOptions {
  clock: Clock;
  /** 0: no idle limit. */
  idleMs: number;
  /** 0: no lifetime limit. */
  maxMs: number;
  /** When a byte last moved (clock ms). */
  lastActivity(): number;
  expired(limit: 'idle-timeout' | 'max-lifetime'): void;
}

/** Starts both timers; returns a function that stops them. */
export function watchLifetime(o: LifetimeOptions): () => void {
  let stopped = false;
  let cancelIdle = () => {};
  let cancelMax = () => {};
  const expire = (limit: 'idle-timeout' | 'max-lifetime') => {
    if (stopped) return;
    stop();
    o.expired(limit);
  };
  // One timer, re-armed from the last activity when it fires early: no timer work per byte.
  const armIdle = (ms: number) => {
    cancelIdle = o.clock.after(ms, () => {
      const quiet = o.clock.now() - o.lastActivity();
      if (quiet >= o.idleMs) expire('idle-timeout');
      else if (!stopped) armIdle(o.idleMs - quiet);
    });
  };
  if (o.idleMs > 0) armIdle(o.idleMs);
  if (o.maxMs > 0) cancelMax = o.clock.after(o.maxMs, () => expire('max-lifetime'));
  function stop() {
    stopped = true;
    cancelIdle();
    cancelMax();
  }
  return stop;
}
