/**
 * docs/users.md tells people what they will see; these checks keep it true:
 * the page titles it quotes are the ones the gateway renders, the demo users
 * are the demo's, and its links lead somewhere.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { test } from 'node:test';
import { DEMO_USERS } from '../../src/demo/users.js';
import { GatewayError } from '../../src/errors.js';
import { renderErrorPage } from '../../src/web/pages/error-page.js';
import { renderSignInPage } from '../../src/web/pages/sign-in.js';

const DOC = resolve(import.meta.dirname, '../../docs/users.md');
const doc = readFileSync(DOC, 'utf8');

test('every error page title the guide quotes is the one the gateway shows', () => {
  for (const status of [400, 403, 404, 502, 503, 504]) {
    const title = /<h1>([^<]+)<\/h1>/.exec(renderErrorPage(new GatewayError(status, '', 'x'), {}))![1];
    assert.ok(doc.includes(`**${status} · ${title}**`), `docs/users.md should quote "${status} · ${title}"`);
  }
  const signIn = renderSignInPage({ methods: [{ label: 'Sign in again', href: '/auth/login' }], error: 'x' });
  for (const words of ['Signing in did not work', 'Sign in again']) {
    assert.ok(signIn.includes(words) && doc.includes(`**${words}**`), words);
  }
});

test('the demo users and their groups are the ones the demo has', () => {
  for (const u of DEMO_USERS)
    assert.match(doc, new RegExp(`${u.username}\\s+groups: ${u.groups.join(', ')}`));
});

test('relative links lead to files that exist', () => {
  const targets = [...doc.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)]
    .map((m) => m[1])
    .filter((t) => !/^[a-z]+:/.test(t));
  assert.ok(targets.length > 0);
  for (const t of targets)
    assert.ok(existsSync(resolve(dirname(DOC), t)), `docs/users.md links to missing ${t}`);
});
