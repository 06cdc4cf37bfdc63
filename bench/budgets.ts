/**
 * Timing budgets: the wall-clock limits that used to sit in tests (where a
 * loaded machine made them fail) are checked here, on the numbers
 * `npm run bench` measured on a quiet, pinned machine, and printed with them.
 * A budget that does not hold is reported, not thrown: the numbers are the
 * finding.
 */
import type { BenchResult } from './harness.js';

export interface BudgetCheck {
  name: string;
  /** The limit as a person reads it, e.g. `≥ 100 req/s`. */
  limit: string;
  /** What was measured, same units. */
  measured: string;
  ok: boolean;
}

const fixed = (n: number, digits = 0) => n.toFixed(digits);

/** Every budget the result has numbers for (a part that did not run has no rows). */
export function checkBudgets(result: Pick<BenchResult, 'summary' | 'scale'>): BudgetCheck[] {
  const checks: BudgetCheck[] = [];
  for (const s of result.summary) {
    // From test/bench/harness.test.ts: a working contestant answers at least this fast.
    checks.push({
      name: `${s.name}: throughput`,
      limit: '≥ 100 req/s',
      measured: `${fixed(s.rps)} req/s`,
      ok: s.rps >= 100,
    });
  }
  const bare = result.summary.find((s) => s.name === 'bare-node');
  if (bare?.vsDirect !== undefined) {
    // A proxy is not much faster than no proxy; if it is, the measurement is broken.
    checks.push({
      name: 'bare-node vs direct',
      limit: '< 1.5×',
      measured: `${fixed(bare.vsDirect, 2)}×`,
      ok: bare.vsDirect < 1.5,
    });
  }
  const scale = result.scale;
  if (scale) {
    checks.push({
      name: `large cluster: process start → ready (${scale.services} Services)`,
      limit: '< 60 s',
      measured: `${fixed(scale.readyMs / 1000, 2)} s`,
      ok: scale.readyMs < 60_000,
    });
    // From the endpoint-churn tests: a changed EndpointSlice steers traffic within a second.
    const slowest = Math.max(0, ...scale.shiftFirstMs);
    checks.push({
      name: 'EndpointSlice change → first request on the new endpoint (slowest)',
      limit: '< 1000 ms',
      measured: `${fixed(slowest, 1)} ms`,
      ok: slowest < 1000,
    });
  }
  return checks;
}

/** The checks as lines for the terminal. */
export function renderBudgets(checks: readonly BudgetCheck[]): string {
  return [
    'Timing budgets (checked here, not in tests):',
    ...checks.map((c) => `  ${c.ok ? 'ok      ' : 'EXCEEDED'}  ${c.name}: ${c.measured} (budget ${c.limit})`),
  ].join('\n');
}
