/**
 * What an upstream may do with Set-Cookie: never name a cookie of the
 * gateway, never reach beyond its own prefix (path form) or host (host
 * routing), never slip a malformed line past the browser's parser.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cookieSettings, gatewayCookieMatcher } from '../../../src/authn/session/cookie-jar.js';
import { guardSetCookie, type CookieGuardContext } from '../../../src/proxy/rewrite/cookie-guard.js';

const isGatewayCookie = gatewayCookieMatcher(
  cookieSettings(new URL('https://bastion.example.com'), 'kube_bastion'),
);
const path: CookieGuardContext = { form: 'path', isGatewayCookie };
const host: CookieGuardContext = { form: 'host', host: 'web--team-a.apps.example.com:8443', isGatewayCookie };

test('every spelling of a gateway cookie name is recognised, and nothing else', () => {
  const ours = [
    '__Host-Http-kube_bastion',
    '__Host-kube_bastion',
    'kube_bastion',
    'KUBE_BASTION',
    '__host-http-Kube_Bastion',
    '__Secure-kube_bastion',
    '__Http-kube_bastion',
    '__Secure-__Host-kube_bastion',
    ' kube_bastion ',
    'kube_bastion_1',
    '__Host-Http-kube_bastion_7',
    '__Host-Http-kube_bastion_login',
    'kube_bastion_handoff',
  ];
  for (const name of ours) assert.equal(isGatewayCookie(name), true, name);
  for (const name of ['kube_bastionx', 'my_kube_bastion', 'sid', '__Host-sid', 'kube-bastion', ''])
    assert.equal(isGatewayCookie(name), false, name);
  const custom = gatewayCookieMatcher({ name: 'sso' }, ['__Host-handoff']);
  assert.equal(custom('SSO_2'), true);
  assert.equal(custom('handoff'), true, 'names passed in `also` count too');
  assert.equal(custom('kube_bastion'), false, 'the configured name, not the default');
});

test('Set-Cookie lines naming a gateway cookie are dropped in both forms', () => {
  for (const ctx of [path, host]) {
    for (const line of [
      '__Host-Http-kube_bastion=planted; Path=/; Secure; HttpOnly',
      '__Host-kube_bastion=planted; Path=/; Secure',
      'KUBE_BASTION=planted',
      'kube_bastion_1=planted; Path=/',
      '__Host-Http-kube_bastion_login=planted; Path=/; Secure',
      ' kube_bastion =planted',
    ]) {
      assert.deepEqual(guardSetCookie(line, ctx), { drop: 'gateway-cookie' }, `${ctx.form}: ${line}`);
    }
  }
});

test('malformed lines are dropped: no name, no `=`, control characters', () => {
  const cases: [string, string][] = [
    ['=__Host-kube_bastion=planted; Path=/', 'nameless'],
    ['=x', 'nameless'],
    ['=', 'nameless'],
    ['  =x', 'nameless'],
    ['kube_bastion', 'malformed'],
    ['', 'malformed'],
    ['a=b\u0001; Path=/', 'malformed'],
    ['a=b; Path=/\u007f', 'malformed'],
    ['a\u0000=b', 'malformed'],
  ];
  for (const [line, why] of cases) {
    for (const ctx of [path, host])
      assert.deepEqual(guardSetCookie(line, ctx), { drop: why }, JSON.stringify(line));
  }
  assert.deepEqual(guardSetCookie('a=b;\tPath=/', host), { keep: 'a=b;\tPath=/' }, 'a tab is allowed');
});

test('path form: __Host- cookies cannot be scoped to a prefix and are dropped; Domain goes', () => {
  assert.deepEqual(guardSetCookie('__Host-sid=1; Path=/; Secure', path), { drop: 'host-prefix' });
  assert.deepEqual(guardSetCookie('__HOST-sid=1; Path=/; Secure', path), { drop: 'host-prefix' });
  assert.deepEqual(guardSetCookie('__Secure-sid=1; Path=/; Secure', path), {
    keep: '__Secure-sid=1; Path=/; Secure',
  });
  assert.deepEqual(guardSetCookie('sid=1; Domain=example.com; Path=/; domain=.bastion.example.com', path), {
    keep: 'sid=1; Path=/',
  });
  assert.deepEqual(guardSetCookie('sid=1;Domain=;HttpOnly', path), { keep: 'sid=1;HttpOnly' });
});

test('host routing: a cookie stays on the app host; Domain is only accepted as that host', () => {
  assert.deepEqual(guardSetCookie('sid=1; Path=/; HttpOnly', host), { keep: 'sid=1; Path=/; HttpOnly' });
  assert.deepEqual(guardSetCookie('__Host-sid=1; Path=/; Secure', host), {
    keep: '__Host-sid=1; Path=/; Secure',
  });
  assert.deepEqual(guardSetCookie('sid=1; Domain=web--team-a.apps.example.com; Path=/', host), {
    keep: 'sid=1; Path=/',
  });
  assert.deepEqual(guardSetCookie('sid=1; Domain=.WEB--team-a.apps.example.com.', host), { keep: 'sid=1' });
  for (const domain of [
    'apps.example.com',
    'example.com',
    '.example.com',
    'other--team-a.apps.example.com',
    'com',
  ])
    assert.deepEqual(
      guardSetCookie(`sid=1; Domain=${domain}; Path=/`, host),
      { drop: 'foreign-domain' },
      domain,
    );
  assert.deepEqual(
    guardSetCookie('sid=1; Domain=web--team-a.apps.example.com; Domain=example.com', host),
    { drop: 'foreign-domain' },
    'the browser uses the last Domain: every one must be the host',
  );
});
