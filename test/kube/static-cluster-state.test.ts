/**
 * `kubernetes: none`: the Services of `static.services` look to the rest of
 * the gateway exactly like cluster objects — a Service, ready endpoints in
 * EndpointSlices, and a Pod behind every endpoint.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { parseEndpointAddress } from '../../src/config/schema/kubernetes.js';
import { createStaticClusterState } from '../../src/kube/index.js';
import { configProblems } from '../support/config-problems.js';

const config = (services: unknown[]) => ({ kubernetes: 'none', static: { services } });
const staticServices = (services: unknown[]) => parseConfig(config(services)).static.services;

test('a static service becomes a Service with ready EndpointSlices backed by pods', async () => {
  const state = createStaticClusterState(
    staticServices([
      {
        namespace: 'demo',
        name: 'echo',
        ports: [{ name: 'http', port: 80, targetPort: 8081 }],
        endpoints: ['127.0.0.1', '127.0.0.2'],
        labels: { tier: 'demo' },
      },
    ]),
  );
  await state.start();
  assert.equal(state.isSynced(), true);
  const svc = state.service('demo', 'echo');
  assert.equal(svc?.spec?.ports?.[0]?.name, 'http');
  assert.equal(svc?.spec?.ports?.[0]?.port, 80);
  assert.equal(svc?.metadata?.labels?.tier, 'demo');
  assert.deepEqual(
    state.services().map((s) => s.metadata?.name),
    ['echo'],
  );

  const slices = state.endpointSlices('demo', 'echo');
  assert.equal(slices.length, 1);
  assert.equal(slices[0]?.metadata?.labels?.['kubernetes.io/service-name'], 'echo');
  assert.deepEqual(slices[0]?.ports, [{ name: 'http', port: 8081, protocol: 'TCP', appProtocol: undefined }]);
  const endpoints = slices[0]?.endpoints ?? [];
  assert.deepEqual(
    endpoints.map((e) => [e.addresses[0], e.conditions?.ready, e.targetRef?.kind, e.targetRef?.namespace]),
    [
      ['127.0.0.1', true, 'Pod', 'demo'],
      ['127.0.0.2', true, 'Pod', 'demo'],
    ],
  );
  // The pod named by targetRef exists and owns the endpoint's IP, as the resolver checks.
  const pod = await state.pod('demo', endpoints[1].targetRef!.name!);
  assert.deepEqual(pod?.status?.podIPs, [{ ip: '127.0.0.2' }]);
  assert.equal(pod?.spec?.containers[0]?.ports?.[0]?.containerPort, 8081);
  assert.equal(await state.pod('demo', 'nope'), undefined);
  assert.equal(await state.node('any'), undefined);
  assert.deepEqual(state.endpointSlices('demo', 'other'), []);
});

test('ip:port endpoints set the endpoint port; bare IPs use targetPort or port; IPv6 gets its own slice', () => {
  const state = createStaticClusterState(
    staticServices([
      {
        namespace: 'demo',
        name: 'web',
        ports: [{ port: 8080 }],
        endpoints: ['127.0.0.1:9001', '127.0.0.1:9002', '127.0.0.3', '[::1]:9003'],
      },
    ]),
  );
  const slices = state.endpointSlices('demo', 'web');
  const summary = slices.map((s) => [
    s.addressType,
    s.ports?.[0]?.port,
    s.endpoints.map((e) => e.addresses[0]),
  ]);
  assert.deepEqual(summary, [
    ['IPv4', 9001, ['127.0.0.1']],
    ['IPv4', 9002, ['127.0.0.1']],
    ['IPv4', 8080, ['127.0.0.3']],
    ['IPv6', 9003, ['::1']],
  ]);
  assert.equal(
    state.service('demo', 'web')?.spec?.ports?.[0]?.name,
    undefined,
    'an unnamed port stays unnamed',
  );
});

test('an endpoint that is not an address is a config problem naming where it is', () => {
  const problems = configProblems(
    config([{ namespace: 'a', name: 'b', ports: [{ port: 80 }], endpoints: ['10.0.0.1', 'localhost:80'] }]),
  );
  assert.equal(problems.length, 1);
  assert.match(problems[0], /^static\.services\[0\]\.endpoints\[1\]: "localhost:80" is not an IP address/);
});

test('endpoint address parsing', () => {
  assert.deepEqual(parseEndpointAddress('10.0.0.1'), { ip: '10.0.0.1' });
  assert.deepEqual(parseEndpointAddress('10.0.0.1:8080'), { ip: '10.0.0.1', port: 8080 });
  assert.deepEqual(parseEndpointAddress('fd00::1'), { ip: 'fd00::1' });
  assert.deepEqual(parseEndpointAddress('[fd00::1]:443'), { ip: 'fd00::1', port: 443 });
  assert.equal(parseEndpointAddress('10.0.0.1:0'), undefined);
  assert.equal(parseEndpointAddress('10.0.0.1:70000'), undefined);
  assert.equal(parseEndpointAddress('example.com'), undefined);
});
