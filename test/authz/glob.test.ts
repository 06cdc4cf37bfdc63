/**
 * The config's `*` globs (rules, the namespace fence): the same answers as
 * the anchored regular expression they used to be compiled to, on every
 * string over a small alphabet, and none of its backtracking on the names a
 * caller chooses.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileGlob, compileGlobs } from '../../src/authz/glob.js';

/** What compileGlob meant before: `*` is `.*`, the rest literal, anchored (kept here as the reference). */
const reference = (pattern: string) =>
  new RegExp(
    '^' +
      pattern
        .split('*')
        .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*') +
      '$',
    's',
  );

/** Every string over `alphabet` up to `max` characters. */
function* strings(alphabet: string, max: number): Generator<string> {
  yield '';
  let level = [''];
  for (let n = 1; n <= max; n++) {
    const next: string[] = [];
    for (const s of level) for (const c of alphabet) next.push(s + c);
    yield* next;
    level = next;
  }
}

test('the same answer as the anchored RegExp, for every pattern and value over {a, b, *} / {a, b}', () => {
  let compared = 0;
  for (const pattern of strings('ab*', 5)) {
    const ours = compileGlob(pattern);
    const re = reference(pattern);
    for (const value of strings('ab', 6)) {
      assert.equal(ours(value), re.test(value), `${JSON.stringify(pattern)} ~ ${JSON.stringify(value)}`);
      compared++;
    }
  }
  assert.ok(compared > 30_000);
});

test('overlapping pieces and a tail that would reuse a middle piece', () => {
  assert.equal(compileGlob('a*ab*b')('aab'), false);
  assert.equal(compileGlob('a*ab*b')('aabb'), true);
  assert.equal(compileGlob('*aba*')('xabax'), true);
  assert.equal(compileGlob('ab*ba')('aba'), false);
  assert.equal(compileGlob('system:serviceaccount:*:ci')('system:serviceaccount:team-a:ci'), true);
});

test('a caller-chosen 253-byte name against many stars is answered at once', () => {
  // The RegExp form needed ~C(126, 8) steps for this one (hours); each case here is one pass per piece.
  const name = 'a-'.repeat(126) + 'a';
  assert.equal(name.length, 253);
  assert.equal(compileGlob('*-*-*-*-*-*-*-*-b')(name), false);
  assert.equal(compileGlobs(['*a*a*a*a*a*a*a*a*a*b', 'x*'])('a'.repeat(253)), false);
  assert.equal(compileGlob('*-*-*-*-*-*-*-*-a')(name), true);
});
