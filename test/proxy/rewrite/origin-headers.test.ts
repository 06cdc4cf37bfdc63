/**
 * Headers that set state for a whole origin or site: an app in the path form
 * shares the gateway's origin and may not set them; a host-routed app may,
 * except for clearing the site's cookies.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { guardOriginHeaders, workerScopeUnderPrefix } from '../../../src/proxy/rewrite/origin-headers.js';
import { PREFIX as P } from './support.js';

const ORIGIN_WIDE = {
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  nel: '{"report_to":"x","max_age":86400,"success_fraction":1}',
  'report-to': '{"group":"x","max_age":86400,"endpoints":[{"url":"https://collector.example/"}]}',
  'clear-site-data': '"cache", "cookies", "storage"',
  'alt-svc': 'h2="evil.example:443"',
  'content-type': 'text/html',
};

test('path form: origin-wide headers are dropped, the response keeps the rest', () => {
  const { headers, changed } = guardOriginHeaders(ORIGIN_WIDE, {
    form: 'path',
    prefix: P,
    requestURL: `${P}/`,
  });
  assert.deepEqual(headers, { 'content-type': 'text/html' });
  assert.deepEqual(changed.sort(), [
    'alt-svc',
    'clear-site-data',
    'nel',
    'report-to',
    'strict-transport-security',
  ]);
});

test('host routing: the app owns its origin, but may not clear the site-wide cookies', () => {
  const { headers, changed } = guardOriginHeaders(ORIGIN_WIDE, { form: 'host', prefix: '', requestURL: '/' });
  assert.deepEqual(headers, {
    'strict-transport-security': ORIGIN_WIDE['strict-transport-security'],
    nel: ORIGIN_WIDE.nel,
    'report-to': ORIGIN_WIDE['report-to'],
    'clear-site-data': '"cache", "storage"',
    'content-type': 'text/html',
  });
  assert.deepEqual(changed.sort(), ['alt-svc', 'clear-site-data']);
  const all = guardOriginHeaders({ 'clear-site-data': '"*"' }, { form: 'host', prefix: '', requestURL: '/' });
  assert.deepEqual(all.headers, {}, '"*" includes cookies');
});

test('a service worker scope stays under the app: Service-Worker-Allowed is resolved and prefixed', () => {
  const at = { prefix: P, requestURL: `${P}/js/sw.js?v=2` };
  const cases: [string, string, string][] = [
    ['the app root', '/', `${P}/`],
    ['an app path', '/app/', `${P}/app/`],
    ['relative, inside the app: as sent', '../', '../'],
    ['relative, climbing out of the origin', '../'.repeat(9), `${P}/`],
    ['relative, climbing out of the app', '../../../', `${P}/api/v1/namespaces/ns/services/`],
    ['already under the prefix', `${P}/x/`, `${P}/x/`],
    ['an absolute URL', 'https://bastion.example.com/', `${P}/`],
    ['a look-alike prefix', `${P}-other/`, `${P}${P}-other/`],
  ];
  for (const [why, value, expected] of cases) assert.equal(workerScopeUnderPrefix(value, at), expected, why);
  const { headers, changed } = guardOriginHeaders({ 'service-worker-allowed': '/' }, { form: 'path', ...at });
  assert.deepEqual(headers, { 'service-worker-allowed': `${P}/` });
  assert.deepEqual(changed, ['service-worker-allowed']);
  assert.deepEqual(
    guardOriginHeaders({ 'service-worker-allowed': '/' }, { form: 'host', prefix: '', requestURL: '/sw.js' })
      .headers,
    { 'service-worker-allowed': '/' },
    'a routed host is the app’s own origin',
  );
});

test('path form: an app’s COOP same-origin becomes same-origin-allow-popups, so it never shares a window group with the gateway’s confirmation pages', () => {
  const path = { form: 'path' as const, prefix: P, requestURL: `${P}/` };
  const cases: [string, string][] = [
    ['same-origin', 'same-origin-allow-popups'],
    [' same-origin ', ' same-origin-allow-popups '],
    ['same-origin; report-to="coop"', 'same-origin-allow-popups; report-to="coop"'],
    ['same-origin-allow-popups', 'same-origin-allow-popups'],
    ['noopener-allow-popups', 'noopener-allow-popups'],
    ['unsafe-none', 'unsafe-none'],
    // Not a valid value: a browser ignores it (unsafe-none), so it may stay.
    ['Same-Origin', 'Same-Origin'],
  ];
  for (const [sent, kept] of cases) {
    const { headers, changed } = guardOriginHeaders({ 'cross-origin-opener-policy': sent }, path);
    assert.deepEqual(headers, { 'cross-origin-opener-policy': kept }, sent);
    assert.deepEqual(changed, sent === kept ? [] : ['cross-origin-opener-policy'], sent);
  }
  const routed = guardOriginHeaders(
    { 'cross-origin-opener-policy': 'same-origin' },
    { form: 'host', prefix: '', requestURL: '/' },
  );
  assert.deepEqual(
    routed.headers,
    { 'cross-origin-opener-policy': 'same-origin' },
    'a routed host is another origin',
  );
});
