import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GatewayError } from '../../src/errors.js';
import { parseProxyPath, splitSchemeNamePort } from '../../src/proxy/grammar.js';

const SVC = '/api/v1/namespaces/team-a/services';

test('name segments split exactly like SplitSchemeNamePort', () => {
  const cases: [string, ReturnType<typeof splitSchemeNamePort>][] = [
    ['web', { scheme: '', name: 'web', port: '' }],
    ['web:http', { scheme: '', name: 'web', port: 'http' }],
    ['web:8080', { scheme: '', name: 'web', port: '8080' }],
    ['web:', { scheme: '', name: 'web', port: '' }],
    ['https:web:', { scheme: 'https', name: 'web', port: '' }],
    ['https:web:8443', { scheme: 'https', name: 'web', port: '8443' }],
    ['http:web:metrics', { scheme: 'http', name: 'web', port: 'metrics' }],
    // Two parts never carry a scheme: this is service "https", port "web".
    ['https:web', { scheme: '', name: 'https', port: 'web' }],
    [':80', undefined],
    ['HTTPS:web:443', undefined],
    ['ftp:web:21', undefined],
    ['a:b:c:d', undefined],
  ];
  for (const [segment, expected] of cases) assert.deepEqual(splitSchemeNamePort(segment), expected, segment);
});

test('upstream paths are decoded, cleaned and re-escaped like the apiserver', () => {
  const cases: [string, string][] = [
    [`${SVC}/web/proxy`, ''],
    [`${SVC}/web/proxy/`, '/'],
    [`${SVC}/web/proxy/a/b/`, '/a/b/'],
    [`${SVC}/web/proxy//a//b`, '/a/b'],
    [`${SVC}/web/proxy/a/../b`, '/b'],
    [`${SVC}/web/proxy/../../x`, '/x'],
    [`${SVC}/web/proxy/a%2Fb`, '/a/b'],
    [`${SVC}/web/proxy/a%20b`, '/a%20b'],
    [`${SVC}/web/proxy/%25`, '/%25'],
    [`${SVC}/web/proxy/a;b`, '/a;b'],
    [`${SVC}/web/proxy/a:b`, '/a:b'],
    [`${SVC}/web/proxy/%2e%2e/x`, '/x'],
  ];
  for (const [url, path] of cases) assert.equal(parseProxyPath(url)!.path, path, url);
});

test('the query string is kept byte-identical', () => {
  const p = parseProxyPath(`${SVC}/web:http/proxy/q?a=1&b=%2F&a=2&path=/etc`)!;
  assert.equal(p.rawQuery, 'a=1&b=%2F&a=2&path=/etc');
  assert.equal(p.path, '/q');
});

test('an encoded name segment is the same as the plain one', () => {
  const p = parseProxyPath(`${SVC}/https%3Aweb%3A8443/proxy/`)!;
  assert.equal(p.segment, 'https:web:8443');
  assert.equal(p.scheme, 'https');
  assert.equal(p.prefix, `${SVC}/https:web:8443/proxy`);
});

test('pods and nodes forms parse', () => {
  const pod = parseProxyPath('/api/v1/namespaces/team-a/pods/web-0:8080/proxy/metrics')!;
  assert.deepEqual(
    [pod.kind, pod.namespace, pod.name, pod.port, pod.path],
    ['pods', 'team-a', 'web-0', '8080', '/metrics'],
  );
  const node = parseProxyPath('/api/v1/nodes/node-1/proxy/stats/summary')!;
  assert.deepEqual(
    [node.kind, node.namespace, node.name, node.path],
    ['nodes', '', 'node-1', '/stats/summary'],
  );
});

test('non-proxy URLs are not ours and other API paths are 404', () => {
  assert.equal(parseProxyPath('/'), undefined);
  assert.equal(parseProxyPath('/auth/login'), undefined);
  for (const url of [
    '/api/v1/namespaces',
    '/api/v1/namespaces/a/secrets/x/proxy/',
    '/api/v2/nodes/n/proxy',
    `${SVC}/web`,
  ]) {
    assert.throws(
      () => parseProxyPath(url),
      (e: GatewayError) => e.status === 404,
      url,
    );
  }
});

test('invalid segments are 400 with the apiserver message', () => {
  assert.throws(
    () => parseProxyPath(`${SVC}/a:b:c:d/proxy/`),
    (e: GatewayError) => e.status === 400 && e.message === 'invalid service request "a:b:c:d"',
  );
  assert.throws(
    () => parseProxyPath('/api/v1/namespaces/x/pods/:80/proxy/'),
    (e: GatewayError) => e.status === 400 && e.message === 'invalid pod request ":80"',
  );
  assert.throws(
    () => parseProxyPath(`${SVC}/web/proxy/%zz`),
    (e: GatewayError) => e.status === 400,
  );
});
