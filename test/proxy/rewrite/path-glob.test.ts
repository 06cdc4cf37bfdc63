/**
 * The config's path globs match as picomatch did on the paths the gateway
 * routes (canonical: no `.`/`..` segments, no `//`), but in linear time: the
 * patterns that made picomatch's RegExp backtrack for seconds over a
 * client-chosen path answer at once here.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import picomatch from 'picomatch';
import { compilePathGlobs, globToRE2 } from '../../../src/proxy/rewrite/path-glob.js';

const P = '/api/v1/namespaces/team-a/services/web:http/proxy';

const PATTERNS = [
  `${P}/**`,
  `${P}/sandboxed/**`,
  '/api/v1/namespaces/monitoring/services/grafana*/proxy/**',
  '**/proxy/raw/*.html',
  '**/*.html',
  '/api/v1/namespaces/*/services/*/proxy/',
  '/api/v1/namespaces/*/services/*/proxy/*',
  `${P}/a/**/b`,
  `${P}/**/b/**`,
  `${P}/file.?s`,
  `${P}/[abc]*`,
  `${P}/[!a]*`,
  `${P}/{docs,help}/**`,
  `${P}/{a,b{c,d}}/x`,
  `${P}/x.{js,css}`,
  '**',
  `${P}/*-*-*.js`,
  `${P}/lit(eral)+`,
];

const PATHS = [
  `${P}`,
  `${P}/`,
  `${P}/x`,
  `${P}/sandboxed`,
  `${P}/sandboxed/`,
  `${P}/sandboxed/a/b.html`,
  `${P}/sandboxedx/a`,
  '/api/v1/namespaces/monitoring/services/grafana:http/proxy/d/abc',
  '/api/v1/namespaces/monitoring/services/grafana/proxy/',
  '/api/v1/namespaces/monitoring/services/prometheus/proxy/graph',
  '/api/v1/namespaces/ns/services/web/proxy/raw/page.html',
  '/api/v1/namespaces/ns/services/web/proxy/raw/deeper/page.html',
  '/api/v1/namespaces/ns/services/web/proxy/',
  `${P}/a/b`,
  `${P}/a/x/y/b`,
  `${P}/a/b/c`,
  `${P}/x/b/y`,
  `${P}/file.js`,
  `${P}/file.ts`,
  `${P}/file.json`,
  `${P}/apple`,
  `${P}/zebra`,
  `${P}/docs/intro`,
  `${P}/help`,
  `${P}/bd/x`,
  `${P}/a/x`,
  `${P}/x.css`,
  `${P}/x.cs`,
  `${P}/one-two-three.js`,
  `${P}/one-two.js`,
  `${P}/a%20b/c`,
  `${P}/lit(eral)+`,
];

describe('the same answers as picomatch on canonical paths', () => {
  for (const pattern of PATTERNS) {
    // picomatch reads these as extglobs (here literal) and `[!a]` as the class of `!` and `a` (here
    // "not a", as in a shell): documented differences, tested below.
    if (pattern.includes('(') || pattern.includes('[!')) continue;
    test(pattern, () => {
      const ours = compilePathGlobs([pattern]);
      const theirs = picomatch(pattern, { dot: true });
      for (const path of PATHS) assert.equal(ours(path), theirs(path), `${pattern} vs ${path}`);
    });
  }
  test('extglob characters are literal', () => {
    const m = compilePathGlobs([`${P}/lit(eral)+`]);
    assert.equal(m(`${P}/lit(eral)+`), true);
    assert.equal(m(`${P}/literal`), false);
  });
  test('[!a] is "not a", as [^a]', () => {
    const m = compilePathGlobs([`${P}/[!a]*`]);
    assert.equal(m(`${P}/x`), true);
    assert.equal(m(`${P}/apple`), false);
    assert.equal(m(`${P}/!x`), true);
  });
  test('several patterns: any of them', () => {
    const m = compilePathGlobs(['**/*.html', `${P}/x`]);
    assert.equal(m(`${P}/x`), true);
    assert.equal(m(`${P}/a/b.html`), true);
    assert.equal(m(`${P}/a/b.htm`), false);
  });
  test('globToRE2 escapes what RE2 would read', () => {
    assert.equal(globToRE2('/a.b+c$/'), '/a\\.b\\+c\\$/');
  });
});

describe('linear time over a client-chosen path', () => {
  // Each of these took picomatch's RegExp seconds to minutes (measured: 4.4 s, 23.6 s) and doubles
  // with every few bytes; the path is cleaned by the gateway but otherwise the client's.
  const hostile: [string, string][] = [
    ['/api/**/a/**/a/**/a/**/b', '/api' + '/a'.repeat(4000) + '/x'],
    [`/api/v1/namespaces/*/services/*/proxy/**/*-*-*-*-*.js`, `${P}/${'-'.repeat(8000)}`],
    [`${P}/**/*a*a*a*a*a*a*b`, `${P}/${'a'.repeat(8000)}`],
  ];
  for (const [pattern, path] of hostile) {
    test(`${pattern} against ${path.length} bytes`, () => {
      assert.equal(compilePathGlobs([pattern])(path), false);
    });
  }
});
