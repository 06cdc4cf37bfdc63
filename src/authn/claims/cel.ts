/**
 * CEL expressions over token claims, as the Kubernetes AuthenticationConfiguration
 * uses them: `claims` for claim mappings and claim validation rules, `user` for
 * user validation rules. Expressions are parsed and type-checked once, when the
 * config loads, so a typo or a pattern RE2 cannot compile is a startup error
 * with its config path rather than a 401 at runtime.
 *
 * Two things differ from stock cel-js, both to match the apiserver's CEL:
 * regular expressions are RE2 (cel-regex.ts) and evaluation has a cost limit
 * (cel-cost.ts).
 */
import { Environment } from '@marcbachmann/cel-js';
import { installMeter, TOKEN_COST_LIMIT, withCostBudget } from './cel-cost.js';
import { astNodes, registerRegexFunctions, RegexError, useRE2 } from './cel-regex.js';

export { CostLimitError, TOKEN_COST_LIMIT, withCostBudget } from './cel-cost.js';

export type CelValue = unknown;
export interface CompiledExpression {
  (vars: Record<string, unknown>): CelValue;
  /** True when the expression reads `claims.<name>` (or `claims["<name>"]`). */
  readsClaim(name: string): boolean;
}

/** A CEL expression that does not parse or type-check; `path` names the config key. */
export class ExpressionError extends Error {
  readonly code = 'ERR_CEL_EXPRESSION';
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'ExpressionError';
  }
}

const LIMITS = {
  maxAstNodes: 2_000,
  maxDepth: 50,
  maxListElements: 1_000,
  maxMapEntries: 1_000,
  maxCallArguments: 16,
};

function environment(variable: 'claims' | 'user'): Environment {
  const env = new Environment({
    enableOptionalTypes: true,
    homogeneousAggregateLiterals: false,
    limits: LIMITS,
  });
  env.registerVariable(variable, 'map');
  registerRegexFunctions(env);
  installMeter(env);
  return env;
}

const environments = { claims: environment('claims'), user: environment('user') };

const firstLine = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0];

export function compileExpression(
  source: string,
  variable: 'claims' | 'user',
  path: string,
): CompiledExpression {
  let evaluate: ReturnType<Environment['parse']>;
  try {
    evaluate = environments[variable].parse(source);
    const checked = evaluate.check();
    if (!checked.valid) throw checked.error ?? new Error('does not type-check');
    useRE2(evaluate.ast);
  } catch (err) {
    if (err instanceof RegexError) throw new ExpressionError(path, err.message);
    throw new ExpressionError(path, `invalid CEL expression: ${firstLine(err)}`);
  }
  const compiled = (vars: Record<string, unknown>): CelValue =>
    withCostBudget(TOKEN_COST_LIMIT, () => evaluate(vars) as CelValue);
  compiled.readsClaim = (name: string) => readsClaim(evaluate.ast, variable, name);
  return compiled;
}

type AstLike = { op?: string; args?: unknown } | undefined;

/** `claims.email` or `claims["email"]` anywhere in the expression (the apiserver's email_verified check). */
function readsClaim(root: unknown, variable: string, name: string): boolean {
  for (const node of astNodes(root)) {
    if (node.op !== '.' && node.op !== '.?' && node.op !== '[]' && node.op !== '[?]') continue;
    const [target, key] = node.args as [AstLike, string | AstLike];
    const field = typeof key === 'string' ? key : key?.op === 'value' ? key.args : undefined;
    if (target?.op === 'id' && target.args === variable && field === name) return true;
  }
  return false;
}

/** CEL integers arrive as bigint; claims and user fields want plain JSON values. */
export function toPlain(value: CelValue): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map(toPlain);
  return value;
}
