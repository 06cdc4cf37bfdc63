import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GatewayError } from '../../src/errors.js';
import { parseProxyPath, splitSchemeNamePort } from '../../src/request/proxy-path.js';

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

/** The error parseProxyPath throws for `url`, as `status message`. */
function refusal(url: string): string {
  try {
    parseProxyPath(url);
  } catch (e) {
    if (e instanceof GatewayError) return `${e.status} ${e.message}`;
    throw e;
  }
  return 'accepted';
}

test('a namespace or name no object can have is 404 not found, before anything else (apiserver: after authz)', () => {
  const long = 'a'.repeat(8192);
  const cases: [string, string][] = [
    // Namespaces are DNS-1123 labels: lower case, ≤ 63.
    [`/api/v1/namespaces/${long}/services/web/proxy/`, '404 services "web" not found'],
    [`/api/v1/namespaces/${'a'.repeat(64)}/services/web/proxy/`, '404 services "web" not found'],
    ['/api/v1/namespaces/Team-A/services/web/proxy/', '404 services "web" not found'],
    ['/api/v1/namespaces/team_a/pods/web-0/proxy/', '404 pods "web-0" not found'],
    ['/api/v1/namespaces/team.a/services/web/proxy/', '404 services "web" not found'],
    // Services are DNS-1035 labels: start with a letter, no dots, ≤ 63.
    [`${SVC}/1web/proxy/`, '404 services "1web" not found'],
    [`${SVC}/web.x/proxy/`, '404 services "web.x" not found'],
    [`${SVC}/Web:http/proxy/`, '404 services "Web" not found'],
    [`${SVC}/${'w'.repeat(64)}/proxy/`, `404 services "${'w'.repeat(64)}" not found`],
    [`${SVC}/web-/proxy/`, '404 services "web-" not found'],
    // Pods and nodes are DNS-1123 subdomains, ≤ 253.
    ['/api/v1/namespaces/team-a/pods/Web-0/proxy/', '404 pods "Web-0" not found'],
    [`/api/v1/namespaces/team-a/pods/${'p'.repeat(254)}/proxy/`, `404 pods "${'p'.repeat(254)}" not found`],
    ['/api/v1/nodes/node_1/proxy/', '404 nodes "node_1" not found'],
    ['/api/v1/nodes/node-1..x/proxy/', '404 nodes "node-1..x" not found'],
    [`${SVC}/web%00/proxy/`, '404 services "web\u0000" not found'],
  ];
  for (const [url, expected] of cases) assert.equal(refusal(url), expected, url.slice(0, 120));
});

test('names at the limits of the rules are accepted', () => {
  const ok = [
    `/api/v1/namespaces/${'a'.repeat(63)}/services/${'w'.repeat(63)}/proxy/`,
    `/api/v1/namespaces/0team/pods/${'p'.repeat(253)}/proxy/`,
    '/api/v1/namespaces/team-a/pods/web-0.sub.domain:8080/proxy/',
    '/api/v1/nodes/ip-10-0-0-1.eu-west-1.compute.internal:10250/proxy/',
    `${SVC}/https:web:${'metrics-endpoint'.repeat(3)}/proxy/`, // a Service port name is a DNS label (≤ 63)
    `${SVC}/web:65535/proxy/`,
    '/api/v1/namespaces/team-a/pods/web-0:metrics/proxy/',
  ];
  for (const url of ok) assert.equal(refusal(url), 'accepted', url);
});

test('a port no object can declare is 400 invalid request', () => {
  const cases: [string, string][] = [
    [`${SVC}/web:0/proxy/`, '400 invalid service request "web:0"'],
    [`${SVC}/web:65536/proxy/`, '400 invalid service request "web:65536"'],
    [`${SVC}/web:${'9'.repeat(400)}/proxy/`, `400 invalid service request "web:${'9'.repeat(400)}"`],
    [`${SVC}/web:Http/proxy/`, '400 invalid service request "web:Http"'],
    [`${SVC}/web:a_b/proxy/`, '400 invalid service request "web:a_b"'],
    [`${SVC}/web:${'p'.repeat(64)}/proxy/`, `400 invalid service request "web:${'p'.repeat(64)}"`],
    // Container ports are named by IANA_SVC_NAME: ≤ 15, a letter, no `--`.
    [
      '/api/v1/namespaces/team-a/pods/web-0:metrics-endpoint/proxy/',
      '400 invalid pod request "web-0:metrics-endpoint"',
    ],
    ['/api/v1/namespaces/team-a/pods/web-0:a--b/proxy/', '400 invalid pod request "web-0:a--b"'],
    ['/api/v1/namespaces/team-a/pods/web-0:0/proxy/', '400 invalid pod request "web-0:0"'],
    // The kubelet is reached by number only.
    ['/api/v1/nodes/node-1:http/proxy/', '400 invalid node request "node-1:http"'],
  ];
  for (const [url, expected] of cases) assert.equal(refusal(url), expected, url.slice(0, 120));
});
