/**
 * CEL as the apiserver runs it: regular expressions are RE2 (linear, no
 * lookaround, `(?i)` and `\pL` work), patterns RE2 cannot compile are config
 * errors with their path, and evaluation has a cost limit, so claims a CI job
 * chooses (its branch name, the length of its lists) cannot hold the event loop.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileExpression, CostLimitError, ExpressionError } from '../../src/authn/claims/cel.js';
import { compileClaimMapper } from '../../src/authn/claims/mapping.js';
import { configProblems } from '../support/config-problems.js';

const HOSTILE = "claims.ref.matches('^refs/heads/([a-z0-9]+[-/]?)*$')";
const run = (source: string, claims: Record<string, unknown>) =>
  compileExpression(source, 'claims', 'p')({ claims });

describe('matches() is RE2', () => {
  test(
    'the backtracking pattern answers at once for 41 characters, 10,000 and 100 KB',
    { timeout: 20_000 },
    () => {
      for (const n of [41, 10_000, 100_000]) {
        const branch = `refs/heads/${'a'.repeat(n)}`;
        assert.equal(run(HOSTILE, { ref: branch }), true, `${n} characters that match`);
        // The trailing "!" is what makes a backtracking engine try every split of the a's.
        assert.equal(run(HOSTILE, { ref: `${branch}!` }), false, `${n} characters that do not`);
      }
    },
  );

  test('RE2 syntax, not JavaScript: (?i) and \\pL work', () => {
    assert.equal(run("claims.name.matches('(?i)^admin$')", { name: 'ADMIN' }), true);
    assert.equal(run("claims.name.matches('^\\\\pL+$')", { name: 'Émile' }), true);
    assert.equal(run("claims.name.matches('^\\\\pL+$')", { name: 'x1' }), false);
  });

  test('a search, as in cel-go: an unanchored pattern matches anywhere', () => {
    assert.equal(run("claims.ref.matches('heads')", { ref: 'refs/heads/main' }), true);
    assert.equal(run("matches(claims.ref, '^refs/tags/')", { ref: 'refs/heads/main' }), false);
  });

  test('inside macros and as a whole rule', () => {
    const groups = { groups: ['ops', 'dev-a', 'dev-b'] };
    assert.deepEqual(run("claims.groups.filter(g, g.matches('^dev-'))", groups), ['dev-a', 'dev-b']);
    assert.equal(run("claims.groups.exists(g, g.matches('^OPS$'))", groups), false);
  });

  test('a pattern computed from claims is RE2 too, and one RE2 refuses fails the evaluation', () => {
    assert.equal(run('claims.s.matches(claims.p)', { s: 'Admin', p: '(?i)^admin$' }), true);
    assert.throws(
      () => run('claims.s.matches(claims.p)', { s: 'a', p: '(?=a)' }),
      /invalid regular expression/,
    );
    assert.throws(
      () => run('claims.s.matches(claims.p)', { s: 'a', p: 'a'.repeat(300) }),
      /longer than 256 characters/,
    );
  });

  test('a long pattern written in the config is fine anywhere (the runtime cap is for computed ones)', () => {
    const long = `^(${Array.from({ length: 60 }, (_, i) => `team-${i}`).join('|')})$`;
    assert.ok(long.length > 256);
    assert.equal(run(`claims.g.matches('${long}')`, { g: 'team-42' }), true);
    assert.equal(run(`matches(claims.g, '${long}')`, { g: 'team-60' }), false);
    assert.equal(run(`claims.g.find('${long}')`, { g: 'team-7' }), 'team-7');
  });

  test('find and findAll, as in the Kubernetes regex library', () => {
    assert.equal(run("claims.s.find('[0-9]+')", { s: 'ab12cd345' }), '12');
    assert.equal(run("claims.s.find('[0-9]+')", { s: 'abc' }), '');
    assert.deepEqual(run("claims.s.findAll('[0-9]+')", { s: 'ab12cd345e6' }), ['12', '345', '6']);
    assert.deepEqual(run("claims.s.findAll('[0-9]+', 2)", { s: 'ab12cd345e6' }), ['12', '345']);
  });
});

describe('patterns are checked when the config loads', () => {
  const withRule = (expression: string) =>
    configProblems(
      {
        authentication: {
          jwt: [
            {
              issuer: { url: 'https://ci.example.com', audiences: ['x'] },
              claimValidationRules: [{ expression, message: 'm' }],
            },
          ],
        },
      },
      { env: {} },
    );

  for (const [what, pattern] of [
    ['lookahead', '^(?=refs)'],
    ['a backreference', '(a)\\\\1'],
    ['an unbalanced group', '(refs'],
  ]) {
    test(`${what} is refused with the key's path`, () => {
      const problems = withRule(`claims.ref.matches('${pattern}')`);
      assert.equal(problems.length, 1, JSON.stringify(problems));
      assert.match(
        problems[0],
        /^authentication\.jwt\[0\]\.claimValidationRules\[0\]\.expression: invalid regular expression/,
      );
    });
  }

  test('findAll with a bad literal too', () => {
    assert.throws(
      () => compileExpression("claims.s.findAll('a**')", 'claims', 'authentication.oidc.x'),
      (err: unknown) => err instanceof ExpressionError && err.path === 'authentication.oidc.x',
    );
  });
});

describe('cost limit', () => {
  const xs = (n: number) => Array.from({ length: n }, (_, i) => `x${i}`);
  const NESTED = 'claims.xs.map(a, claims.xs.map(b, a + b)).size()';

  test('nested comprehensions over a small list are fine', () => {
    assert.equal(run(NESTED, { xs: xs(20) }), 20n);
  });

  test('over a list the token chose to make long, they stop at the limit', { timeout: 20_000 }, () => {
    assert.throws(() => run(NESTED, { xs: xs(2_000) }), CostLimitError);
  });

  test('building ever longer strings is paid for by their size', { timeout: 20_000 }, () => {
    const doubling = `[claims.s]${'.map(x, x + x)'.repeat(24)}.size()`;
    assert.throws(() => run(doubling, { s: 'a'.repeat(1000) }), CostLimitError);
  });

  test('claims over 64 KiB, or nested deeper than the stack, are refused before any expression runs', () => {
    const map = compileClaimMapper({
      issuerURL: 'https://idp.example.com',
      path: 'p',
      mappings: { username: { claim: 'sub', prefix: '' } },
    });
    assert.equal(map({ sub: 'alice', note: 'x'.repeat(60_000) }).username, 'alice');
    assert.throws(() => map({ sub: 'alice', note: 'x'.repeat(70_000) }), /larger than 64 KiB/);
    let deep: unknown = [];
    for (let i = 0; i < 30_000; i++) deep = [deep];
    assert.throws(() => map({ sub: 'alice', deep }), /nested too deeply/);
  });

  test("one token's expressions share one budget, and the token is refused", () => {
    const map = compileClaimMapper({
      issuerURL: 'https://ci.example.com',
      path: 'p',
      mappings: { username: { claim: 'sub', prefix: 'ci:' } },
      // Each rule alone fits the budget; all of them together do not.
      claimValidationRules: Array.from({ length: 8 }, () => ({
        expression: 'claims.xs.map(a, claims.xs.map(b, a + b)).size() > 0',
      })),
    });
    assert.equal(run('claims.xs.map(a, claims.xs.map(b, a + b)).size() > 0', { xs: xs(60) }), true);
    assert.throws(() => map({ sub: 's', xs: xs(60) }), /cost limit/);
  });
});
