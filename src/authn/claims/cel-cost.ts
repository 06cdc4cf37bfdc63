/**
 * A cost limit on CEL evaluation, as the apiserver puts on every
 * AuthenticationConfiguration expression (cel-go's `CostLimit`, 1,000,000
 * units per call). Claims are chosen by whoever holds a signed token — a CI
 * job picks its own branch name, list lengths and string sizes — so without a
 * limit one token could make `claims.xs.map(a, claims.xs.map(b, …))` run for
 * seconds on the event loop.
 *
 * cel-js counts nothing, but it evaluates every child node through one method
 * of its evaluator (`run`), which `installMeter` wraps. A unit is one node
 * evaluated, plus the size of the string (a tenth per character, as cel-go
 * charges traversal) or list (one per element) it produced or read, so work
 * that grows with attacker-sized values is paid for. The budget is shared by
 * every expression of one token's mapping: a token costs at most
 * `TOKEN_COST_LIMIT` units, however many rules the issuer has.
 */
import type { Environment } from '@marcbachmann/cel-js';

/**
 * Units one token's expressions may spend together. Smaller than the
 * apiserver's per-expression 1,000,000 because a unit costs more here (a
 * node evaluation in cel-js is ~0.25 µs against cel-go's ~0.02 µs): this is
 * about 50 ms of CPU at worst, and real mappings spend a few thousand.
 */
export const TOKEN_COST_LIMIT = 200_000;

/** An evaluation ran out of its budget; the token is refused (401), never half-mapped. */
export class CostLimitError extends Error {
  readonly code = 'ERR_CEL_COST';
  constructor(limit: number) {
    super(
      `CEL evaluation exceeded its cost limit of ${limit} units (the claims are too large for the expressions)`,
    );
    this.name = 'CostLimitError';
  }
}

interface Budget {
  limit: number;
  remaining: number;
}

/** The budget of the evaluation in progress. Evaluation is synchronous, so one slot is enough. */
let current: Budget | undefined;

/** Spends `units` of the current budget; throws CostLimitError when it is gone. */
export function charge(units: number): void {
  if (!current) return;
  current.remaining -= units;
  if (current.remaining < 0) throw new CostLimitError(current.limit);
}

/** The units a value costs to produce or traverse. */
export function sizeCost(value: unknown): number {
  if (typeof value === 'string') return Math.ceil(value.length / 10);
  if (Array.isArray(value)) return value.length;
  return 0;
}

/**
 * Runs `fn` with a budget of `limit` units. Nested calls share the outer
 * budget, so the mapper can give one budget to all of a token's expressions.
 */
export function withCostBudget<T>(limit: number, fn: () => T): T {
  if (current) return fn();
  current = { limit, remaining: limit };
  try {
    return fn();
  } finally {
    current = undefined;
  }
}

interface MeteredEvaluator {
  run(ast: unknown, ctx: unknown): unknown;
}

/**
 * Wraps the evaluator of `env` so every node evaluation is charged. The
 * evaluator is private to cel-js, but function handlers run with it as
 * `this`; a probe function hands it over once. (cel-js is pinned; the cost
 * tests fail if a new version stops routing evaluation through `run`.)
 */
export function installMeter(env: Environment): void {
  let evaluator: MeteredEvaluator | undefined;
  const capture = (ev: MeteredEvaluator) => (evaluator = ev);
  env.registerFunction('bastionEvaluatorProbe(): bool', function (this: MeteredEvaluator) {
    return capture(this) !== undefined;
  });
  env.parse('bastionEvaluatorProbe()')({});
  if (!evaluator || typeof evaluator.run !== 'function')
    throw new Error('cel-js no longer exposes its evaluator: the CEL cost limit cannot be installed');
  const run = evaluator.run.bind(evaluator);
  evaluator.run = (ast, ctx) => {
    charge(1);
    const value = run(ast, ctx);
    charge(sizeCost(value));
    return value;
  };
}
