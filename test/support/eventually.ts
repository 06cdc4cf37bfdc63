/**
 * Polls `check` (an assertion or predicate) until it passes; returns how long
 * that took in ms (a diagnostic: never assert on it, timing budgets belong in
 * `npm run bench`). The last failure is rethrown after `timeoutMs`.
 *
 * `timeoutMs` is a hang guard, not a deadline the behaviour must meet: it is
 * generous (10 s) because a loaded machine may take seconds to get there, and
 * a shorter one is raised to that floor.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export const EVENTUALLY_TIMEOUT_MS = 10_000;

export async function eventually(
  check: () => unknown,
  timeoutMs = EVENTUALLY_TIMEOUT_MS,
  intervalMs = 5,
): Promise<number> {
  timeoutMs = Math.max(timeoutMs, EVENTUALLY_TIMEOUT_MS);
  const start = performance.now();
  for (;;) {
    try {
      const result: unknown = await check();
      if (result !== false) return performance.now() - start;
      if (performance.now() - start > timeoutMs)
        throw new Error(`condition still false after ${timeoutMs} ms`);
    } catch (err) {
      if (performance.now() - start > timeoutMs) throw err;
    }
    await sleep(intervalMs);
  }
}
