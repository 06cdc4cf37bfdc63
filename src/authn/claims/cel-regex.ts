/**
 * Regular expressions in CEL with Kubernetes semantics: RE2, linear in the
 * input, never backtracking. cel-js implements `matches()` with JavaScript's
 * RegExp, where `claims.ref.matches('^refs/heads/([a-z0-9]+[-/]?)*$')` and a
 * 41-character branch name blocked the event loop for seconds (doubling per
 * character) — and the branch name is the CI job's to choose.
 *
 *   - `string.matches(string)`, `matches(string, string)`: RE2 search, as cel-go.
 *   - `string.find(string)`, `string.findAll(string[, int])`: the Kubernetes
 *     regex library, also RE2.
 *
 * Literal patterns are compiled when the config loads (a pattern RE2 cannot
 * compile — lookaround, backreferences — is a config error with its path).
 * Patterns computed at runtime are compiled once each, in a bounded cache.
 */
import type { Environment } from '@marcbachmann/cel-js';
import { boundedCache } from '../../bounded-cache.js';
import { RE2JS } from 're2js';
import { charge, sizeCost } from './cel-cost.js';

/** A pattern RE2 refuses, or one computed at runtime that is longer than we compile on a request. */
export class RegexError extends Error {
  readonly code = 'ERR_CEL_REGEX';
  constructor(message: string) {
    super(message);
    this.name = 'RegexError';
  }
}

/**
 * Patterns computed from claims are compiled during a request; compiling is
 * not linear in the pattern (`a{1000}` expands), so they are kept short.
 * Literal patterns from the config have no such cap.
 */
export const MAX_RUNTIME_PATTERN = 256;
const runtimePatterns = boundedCache<string, RE2JS>({ max: 256 });
/** The config's literal patterns, compiled at load: as many as the config has, never evicted. */
const configPatterns = new Map<string, RE2JS>();

/** Compiles a pattern with RE2 syntax; throws RegexError with RE2's reason. */
export function compilePattern(pattern: string): RE2JS {
  try {
    return RE2JS.compile(pattern);
  } catch (err) {
    throw new RegexError(`invalid regular expression "${pattern}": ${(err as Error).message}`);
  }
}

function runtimePattern(pattern: unknown): RE2JS {
  if (typeof pattern !== 'string') throw new RegexError('a regular expression must be a string');
  let re = configPatterns.get(pattern) ?? runtimePatterns.get(pattern);
  if (!re) {
    if (pattern.length > MAX_RUNTIME_PATTERN)
      throw new RegexError(
        `a regular expression computed from claims is longer than ${MAX_RUNTIME_PATTERN} characters`,
      );
    re = compilePattern(pattern);
    runtimePatterns.set(pattern, re);
  }
  return re;
}

function configPattern(pattern: string): RE2JS {
  let re = configPatterns.get(pattern);
  if (!re) configPatterns.set(pattern, (re = compilePattern(pattern)));
  return re;
}

/** cel-go's estimate for a regex over a string: traversal of the string times the pattern's size. */
function chargeMatch(subject: string, re: RE2JS): void {
  charge(sizeCost(subject) * Math.max(1, Math.ceil(re.pattern().length / 4)));
}

function search(subject: unknown, re: RE2JS): boolean {
  if (typeof subject !== 'string') throw new RegexError('matches() needs a string');
  chargeMatch(subject, re);
  return re.test(subject);
}

function findAll(subject: string, re: RE2JS, limit: number): string[] {
  chargeMatch(subject, re);
  const found: string[] = [];
  const m = re.matcher(subject);
  while ((limit < 0 || found.length < limit) && m.find()) found.push(m.group() ?? '');
  return found;
}

/** Registers the RE2 functions cel-js lacks (global `matches`, `find`, `findAll`). */
export function registerRegexFunctions(env: Environment): void {
  env.registerFunction('matches(string, string): bool', (s: string, p: string) =>
    search(s, runtimePattern(p)),
  );
  env.registerFunction(
    'string.find(string): string',
    (s: string, p: string) => findAll(s, runtimePattern(p), 1)[0] ?? '',
  );
  env.registerFunction('string.findAll(string): list<string>', (s: string, p: string) =>
    findAll(s, runtimePattern(p), -1),
  );
  env.registerFunction('string.findAll(string, int): list<string>', (s: string, p: string, n: bigint) =>
    findAll(s, runtimePattern(p), Number(n)),
  );
}

/** The parts of a cel-js AST node this module reads and overrides. */
interface AstNode {
  op: string;
  args: unknown;
  evaluate?: (ev: Evaluator, ast: AstNode, ctx: unknown) => unknown;
}
interface Evaluator {
  run(ast: unknown, ctx: unknown): unknown;
}

const isNode = (v: unknown): v is AstNode => typeof v === 'object' && v !== null && 'op' in v && 'args' in v;

/** Every node of a parsed expression (macros keep the nodes they were written with). */
export function* astNodes(root: unknown, seen = new Set<unknown>()): Generator<AstNode> {
  if (typeof root !== 'object' || root === null || seen.has(root)) return;
  seen.add(root);
  if (isNode(root)) {
    yield root;
    yield* astNodes(root.args, seen);
  } else if (Array.isArray(root)) {
    for (const item of root) yield* astNodes(item, seen);
  } else {
    for (const item of Object.values(root)) yield* astNodes(item, seen);
  }
}

const REGEX_CALLS = new Set(['matches', 'find', 'findAll']);

/** The literal pattern of a regex call, when the expression spells it out. */
function literalPattern(node: AstNode): string | undefined {
  const args = node.args as unknown[];
  const call = node.op === 'rcall' ? (args[2] as unknown[]) : (args[1] as unknown[]);
  const pattern = node.op === 'rcall' ? call[0] : call[1];
  return isNode(pattern) && pattern.op === 'value' && typeof pattern.args === 'string'
    ? pattern.args
    : undefined;
}

/**
 * Prepares a parsed expression: every literal pattern must compile with RE2
 * (else RegexError, for the config error), and every `x.matches(p)` node
 * evaluates with RE2 instead of cel-js's RegExp. The node's own `evaluate`
 * takes precedence over the library's, the root node included.
 */
export function useRE2(root: unknown): void {
  for (const node of astNodes(root)) {
    if (node.op !== 'rcall' && node.op !== 'call') continue;
    const [name] = node.args as [string];
    if (!REGEX_CALLS.has(name)) continue;
    const literal = literalPattern(node);
    const compiled = literal === undefined ? undefined : configPattern(literal);
    if (node.op !== 'rcall' || name !== 'matches') continue;
    const [, receiver, [patternNode]] = node.args as [string, AstNode, AstNode[]];
    node.evaluate = (ev, _ast, ctx) =>
      search(ev.run(receiver, ctx), compiled ?? runtimePattern(ev.run(patternNode, ctx)));
  }
}
