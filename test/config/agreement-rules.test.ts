/**
 * The refused fixtures about the config itself (test/config/fixtures/bad, each
 * naming the key it gets wrong in an `# expect:` comment): `check-config` and
 * `serve` both refuse them, naming that key. (The ones about the files a config
 * names are in agreement-files.test.ts: the two run side by side.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agreementTests, fixtureCases, namesAFile, readFixtures } from './corpus.js';

const bad = readFixtures('bad');

test('the corpus has a refused file for every rule, each naming its key', () => {
  assert.ok(bad.length >= 40, `${bad.length} bad fixtures`);
  for (const f of bad) assert.ok(f.expect?.length, `${f.name} has no "# expect: <path>" comment`);
});

agreementTests(
  'check-config and serve on refused files: the config itself',
  fixtureCases(bad.filter((f) => !namesAFile(f))),
);
