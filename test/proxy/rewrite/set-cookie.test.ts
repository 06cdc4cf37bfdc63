import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rewriteSetCookiePath, type RewriteContext } from '../../../src/proxy/rewrite/index.js';

const P = '/api/v1/namespaces/ns/services/web:http/proxy';
const ctx: RewriteContext = { prefix: P, upstreamHost: '10.0.0.7:8080', requestHost: 'bastion.example.com' };

test('cookies an app sets stay scoped to its prefix', () => {
  const cases: [string, string, string][] = [
    ['Path=/ covers the whole app', 'sid=1; Path=/; HttpOnly', `sid=1; Path=${P}; HttpOnly`],
    [
      'a sub-path keeps its place under the prefix',
      'pref=dark; Path=/settings',
      `pref=dark; Path=${P}/settings`,
    ],
    ['attribute name is case-insensitive', 'a=1; path=/x; Secure', `a=1; path=${P}/x; Secure`],
    ['no Path gets the prefix', 'a=1; HttpOnly; SameSite=Lax', `a=1; HttpOnly; SameSite=Lax; Path=${P}`],
    ['bare cookie gets the prefix', 'a=1', `a=1; Path=${P}`],
    ['a Path not starting with / counts as absent', 'a=1; Path=x', `a=1; Path=${P}`],
    ['already prefixed: not twice', `a=1; Path=${P}/x`, `a=1; Path=${P}/x`],
    ['prefix-lookalike is prefixed', `a=1; Path=${P}-x`, `a=1; Path=${P}${P}-x`],
    [
      'values with = and spaces are left alone',
      'tok=a=b=; Path=/; Max-Age=60',
      `tok=a=b=; Path=${P}; Max-Age=60`,
    ],
    ['__Host- cookies must keep Path=/', '__Host-s=1; Path=/; Secure', '__Host-s=1; Path=/; Secure'],
  ];
  for (const [why, input, expected] of cases) assert.equal(rewriteSetCookiePath(input, ctx), expected, why);
});

test('host routing (no prefix) leaves cookies alone', () => {
  assert.equal(rewriteSetCookiePath('a=1; Path=/', { ...ctx, prefix: '' }), 'a=1; Path=/');
});
