/**
 * Polls `check` (an assertion or predicate) until it passes; returns how long
 * that took in ms. The last failure is rethrown after `timeoutMs`.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export async function eventually(check: () => unknown, timeoutMs = 2000, intervalMs = 5): Promise<number> {
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
