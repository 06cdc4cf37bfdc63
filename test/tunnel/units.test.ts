/**
 * The pure parts of tunnels: what the user may type after `kube-bastion
 * connect` (and the path it becomes), where `--listen` may bind, which ports
 * `tunnels.ports` lets through, and the wire's control messages.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseListen } from '../../src/client/commands/connect.js';
import { parseConnectTarget } from '../../src/client/connect/target.js';
import { parseConfig } from '../../src/config/load.js';
import { allowedTunnelTarget, portAllowList } from '../../src/proxy/tunnel/ports.js';
import { closeReason, parseControl } from '../../src/proxy/tunnel/protocol.js';
import type { Endpoint, Target } from '../../src/request/target.js';

test('connect targets: Services by default, pods spelt out, the port optional', () => {
  const cases: [string, string, string][] = [
    [
      'team-a/postgres:5432',
      '/api/v1/namespaces/team-a/services/postgres:5432/portforward',
      'team-a/postgres:5432',
    ],
    ['team-a/postgres', '/api/v1/namespaces/team-a/services/postgres/portforward', 'team-a/postgres'],
    [
      'team-a/svc/redis:tcp-redis',
      '/api/v1/namespaces/team-a/services/redis:tcp-redis/portforward',
      'team-a/redis:tcp-redis',
    ],
    ['team-a/pod/db-0:5432', '/api/v1/namespaces/team-a/pods/db-0:5432/portforward', 'team-a/pod/db-0:5432'],
    ['team-a/pods/db-0', '/api/v1/namespaces/team-a/pods/db-0/portforward', 'team-a/pod/db-0'],
  ];
  for (const [typed, path, label] of cases) {
    const t = parseConnectTarget(typed);
    assert.equal(t.path, path, typed);
    assert.equal(t.label, label, typed);
  }
});

test('connect targets no object can have are refused before anything is sent', () => {
  for (const typed of [
    'postgres',
    'team-a/',
    'team-a/node/n1',
    'team-a/Postgres',
    'team-a/pg:',
    'team-a/pg:1:2',
    'team-a/pg:70000',
    'a/b/c/d',
    '../x/y',
    'team-a/pg%2f..',
  ]) {
    assert.throws(() => parseConnectTarget(typed), { code: 'ERR_CONNECT_TARGET' }, typed);
  }
});

test('--listen binds loopback only: whoever reaches the port uses your identity', () => {
  assert.deepEqual(parseListen('15432'), { host: '127.0.0.1', port: 15432 });
  assert.deepEqual(parseListen('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
  assert.deepEqual(parseListen('[::1]:15432'), { host: '::1', port: 15432 });
  assert.deepEqual(parseListen('localhost:15432'), { host: 'localhost', port: 15432 });
  for (const bad of ['0.0.0.0:15432', '[::]:1', '192.168.1.5:80', 'example.com:80', '99999', 'x'])
    assert.throws(() => parseListen(bad), /--listen/, bad);
});

const endpoint = (port: number): Endpoint => ({
  ip: '10.0.0.1',
  port,
  ready: true,
  serving: true,
  terminating: false,
});
const target = (...ports: number[]): Target => ({
  kind: 'services',
  namespace: 'team-a',
  name: 'db',
  segment: 'db:5432',
  scheme: 'http',
  endpoints: ports.map(endpoint),
  path: '',
  key: 'services/team-a/db:',
});

test('tunnels.ports: numbers and ranges, checked against the port actually dialled', () => {
  const allowed = portAllowList([5432], ['8000-8099']);
  assert.deepEqual([5432, 8000, 8099, 8100, 22].map(allowed), [true, true, true, false, false]);
  assert.equal(portAllowList()(1), true, 'no list: any port');
  assert.equal(portAllowList([22])(23), false);
  const same = target(5432);
  assert.equal(
    allowedTunnelTarget(same, allowed),
    same,
    'all allowed: the very same target (and balancer key)',
  );
  const mixed = allowedTunnelTarget(target(5432, 22), allowed);
  assert.deepEqual(
    mixed.endpoints.map((e) => e.port),
    [5432],
  );
  assert.notEqual(mixed.key, same.key);
  assert.throws(() => allowedTunnelTarget(target(22), allowed), {
    status: 403,
    message: 'tunnels to port 22 are not allowed on this gateway (tunnels.ports)',
  });
});

test('tunnels config: defaults, and ranges must be ranges', () => {
  const t = parseConfig({}).tunnels;
  assert.deepEqual(t, {
    enabled: false,
    idleTimeout: 3_600_000,
    maxLifetime: 43_200_000,
    keepalive: 30_000,
    maxOpen: 1000,
  });
  assert.throws(() => parseConfig({ tunnels: { portRanges: ['9000-8000'] } }), /tunnels\.portRanges\[0\]/);
  assert.throws(() => parseConfig({ tunnels: { ports: [0] } }), /tunnels\.ports\[0\]/);
});

test('control messages: JSON objects with a string type; anything else is not one', () => {
  assert.deepEqual(parseControl('{"type":"end"}'), { type: 'end' });
  assert.deepEqual(parseControl('{"type":"later","x":1}'), { type: 'later', x: 1 });
  for (const text of ['end', '[]', 'null', '{"type":1}', '{}', '{"type":"end"'])
    assert.equal(parseControl(text), undefined, text);
});

test('close reasons fit a control frame (123 bytes of UTF-8), however long the cause', () => {
  const long = closeReason(`cannot connect to the backend: ${'é'.repeat(200)}`);
  assert.ok(Buffer.byteLength(long) <= 123);
  assert.equal(closeReason('idle timeout'), 'idle timeout');
});
