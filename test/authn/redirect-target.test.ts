/**
 * `rd` after sign-in and sign-out only ever leads back to our own origin.
 * The list mixes the classic open-redirect payloads (oauth2-proxy's corpus,
 * CVE-2020-5233/11053/4037) with encodings and whitespace smuggling.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { returnOrigins, safeRedirectTarget } from '../../src/authn/oidc/redirect-target.js';

const publicURL = new URL('https://bastion.example.com');

const hostile = [
  '//evil.com',
  '///evil.com',
  '////evil.com',
  '/\\evil.com',
  '\\\\evil.com',
  '/\\/evil.com',
  '\\/evil.com',
  'https:evil.com',
  'https://evil.com',
  'http://evil.com/path',
  'javascript:alert(1)',
  'data:text/html,<script>alert(1)</script>',
  '//evil.com@bastion.example.com',
  'https://bastion.example.com@evil.com',
  'https://bastion.example.com.evil.com/',
  'evil.com',
  '/%2F/evil.com',
  '/%2f%2fevil.com',
  '%2F%2Fevil.com',
  '/%5Cevil.com',
  '/%5c/evil.com',
  '/%252F%252Fevil.com',
  '/%25252F%25252Fevil.com',
  '/\t/evil.com',
  '/%09/evil.com',
  '/\n/evil.com',
  '/%0a/evil.com',
  '/%0d%0a/evil.com',
  '/\u000b/evil.com',
  '/ /evil.com',
  '/%20/evil.com',
  '/.//evil.com',
  '/..//evil.com',
  '/./\\evil.com',
  '/%2e%2e//evil.com',
  '/\u3000/evil.com',
  '/\ufeff/evil.com',
  '/\u2028/evil.com',
  '/%E3%80%80/evil.com',
  '/%ZZ',
  ' /foo',
  '',
  '/' + 'a'.repeat(5000),
  '/auth/login?rd=//evil.com',
  '/auth/logout',
  '/auth/callback?code=x',
];

test(`${hostile.length} hostile rd values all fall back to /`, () => {
  assert.ok(hostile.length >= 30);
  for (const rd of hostile) {
    assert.equal(safeRedirectTarget(rd, publicURL), '/', `rd=${JSON.stringify(rd)}`);
  }
});

test('every answer is a path on our origin, whatever the input', () => {
  for (const rd of hostile) {
    const target = safeRedirectTarget(rd, publicURL);
    assert.ok(target.startsWith('/') && !target.startsWith('//') && !target.includes('\\'));
    assert.equal(new URL(target, publicURL).origin, publicURL.origin);
  }
});

test('ordinary paths survive intact, query and fragment included', () => {
  const fine = [
    '/',
    '/api/v1/namespaces/team-a/services/web:http/proxy/',
    '/api/v1/namespaces/team-a/services/https:web:8443/proxy/dashboard?tab=1&x=%2F#top',
    '/api/v1/namespaces/a/pods/p-1/proxy/metrics',
    '/path/with%20space',
  ];
  for (const rd of fine) assert.equal(safeRedirectTarget(rd, publicURL), rd);
});

test('non-string rd (repeated query parameter, absent) falls back', () => {
  assert.equal(safeRedirectTarget(['/a', '//evil.com'], publicURL), '/');
  assert.equal(safeRedirectTarget(undefined, publicURL), '/');
});

test('with host routing, rd may name a routed host, on publicURL’s scheme and port only (where routed hosts are served)', () => {
  const isOwn = returnOrigins(publicURL, {
    hostSuffix: 'apps.example.com',
    routes: [{ host: 'grafana.example.com' }],
  });
  const back = (rd: string) => safeRedirectTarget(rd, publicURL, '/', isOwn);
  for (const ok of [
    'https://web--team-a.apps.example.com/x',
    'https://web--team-a.apps.example.com:443/x',
    'https://grafana.example.com/d',
    'https://GRAFANA.example.com./d',
  ])
    assert.notEqual(back(ok), '/', ok);
  for (const no of [
    // The wildcard's hosts on another port: whatever listens there is not the gateway.
    'https://web--team-a.apps.example.com:9999/x',
    'https://grafana.example.com:8080/d',
    'https://wiki.example.com/page',
    'https://grafana.example.com.evil.com/d',
    'http://web--team-a.apps.example.com/x',
    'https://apps.example.com.evil.com/',
    'https://evilapps.example.com/',
  ])
    assert.equal(back(no), '/', no);
});
