import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, parseConfig } from '../../src/config/load.js';

function problems(raw: unknown, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig(raw, { env });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.path}: ${p.message}`);
    throw err;
  }
  return [];
}

test('an empty file is a valid config with the documented defaults', () => {
  const config = parseConfig({});
  assert.equal(config.listen.port, 8080);
  assert.equal(config.listen.address, '0.0.0.0');
  assert.equal(config.admin.port, 9090);
  assert.deepEqual(config.authorization.namespaces.deny, ['kube-system']);
  assert.equal(config.authorization.nodeProxy, false);
  assert.equal(config.upstream.tls.verify, false);
  assert.equal(config.upstream.connectTimeout, 5000);
  assert.equal(config.listen.shutdown.delay, 5000);
});

test('a typo names the path of the bad key', () => {
  assert.deepEqual(problems({ authorization: { namespace: {} } }), [
    'authorization.namespace: unknown key (check its spelling)',
  ]);
  assert.deepEqual(problems({ upstream: { loadBalancing: { polcy: 'p2c' } } }), [
    'upstream.loadBalancing.polcy: unknown key (check its spelling)',
  ]);
});

test('a jwt issuer must be https and the error says where', () => {
  const raw = {
    authentication: {
      jwt: [
        { issuer: { url: 'https://a.example.com', audiences: ['x'] } },
        { issuer: { url: 'http://b.example.com', audiences: ['x'] } },
      ],
    },
  };
  assert.deepEqual(problems(raw), ['authentication.jwt[1].issuer.url: must be https']);
});

test('every problem is reported, not only the first', () => {
  const found = problems({ listen: { port: 'eighty' }, upstream: { connectTimeout: 'soon' } });
  assert.equal(found.length, 2);
  assert.match(found[0], /^listen\.port: /);
  assert.match(found[1], /^upstream\.connectTimeout: must be a duration/);
});

test('${ENV} references are substituted, and an unset one is an error with its path', () => {
  const secret = 'x'.repeat(40);
  const config = parseConfig(
    { authentication: { session: { secret: '${SESSION_SECRET}' } } },
    { env: { SESSION_SECRET: secret } },
  );
  assert.equal(config.authentication.session?.secret, secret);
  assert.deepEqual(problems({ authentication: { session: { secret: '${NOPE}' } } }), [
    'authentication.session.secret: environment variable NOPE is not set',
  ]);
});

test('kubernetes may be "none" for static services', () => {
  const config = parseConfig({
    kubernetes: 'none',
    static: {
      services: [{ namespace: 'demo', name: 'web', ports: [{ port: 80 }], endpoints: ['127.0.0.1:8081'] }],
    },
  });
  assert.equal(config.kubernetes, 'none');
  assert.equal(config.static.services[0].ports[0].name, '');
});

test('node address preference: the apiserver default, or a list of known types without repeats', () => {
  const config = parseConfig({});
  assert.notEqual(config.kubernetes, 'none');
  if (config.kubernetes !== 'none')
    assert.deepEqual(config.kubernetes.kubeletPreferredAddressTypes, [
      'Hostname',
      'InternalDNS',
      'InternalIP',
      'ExternalDNS',
      'ExternalIP',
    ]);
  const bad = (types: unknown) =>
    problems({ kubernetes: { kubeletPreferredAddressTypes: types } }).join('\n');
  assert.match(bad(['InternalIP', 'Internal']), /^kubernetes\.kubeletPreferredAddressTypes\[1\]: /);
  assert.match(bad([]), /kubernetes\.kubeletPreferredAddressTypes: must name at least one address type/);
  assert.match(
    bad(['InternalIP', 'InternalIP']),
    /kubernetes\.kubeletPreferredAddressTypes: must not repeat a type/,
  );
});
