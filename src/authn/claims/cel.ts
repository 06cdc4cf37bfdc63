/**
 * CEL expressions over token claims, as the Kubernetes AuthenticationConfiguration
 * uses them: `claims` for claim mappings and claim validation rules, `user` for
 * user validation rules. Expressions are parsed once, when the config loads, so
 * a typo is a startup error with its config path rather than a 401 at runtime.
 */
import { Environment, ParseError } from '@marcbachmann/cel-js';

export type CelValue = unknown;
export type CompiledExpression = (vars: Record<string, unknown>) => CelValue;

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
  return env;
}

const environments = { claims: environment('claims'), user: environment('user') };

export function compileExpression(
  source: string,
  variable: 'claims' | 'user',
  path: string,
): CompiledExpression {
  try {
    const evaluate = environments[variable].parse(source);
    return (vars): CelValue => evaluate(vars) as CelValue;
  } catch (err) {
    const first = err instanceof ParseError ? err.message.split('\n')[0] : (err as Error).message;
    throw new ExpressionError(path, `invalid CEL expression: ${first}`);
  }
}

/** CEL integers arrive as bigint; claims and user fields want plain JSON values. */
export function toPlain(value: CelValue): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map(toPlain);
  return value;
}
