import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Node } from '@kubernetes/client-node';
import type { GatewayError } from '../../src/errors.js';
import { createAddressPolicy } from '../../src/proxy/address-policy.js';
import { parseProxyPath } from '../../src/request/proxy-path.js';
import { createTargetResolver } from '../../src/proxy/resolve.js';
import { endpointSlice, node, pod, service, type EndpointSpec } from '../support/fake-apiserver/objects.js';
import { memoryClusterState } from '../support/memory-cluster-state.js';

/** A node without the kubernetes.io/hostname label, so address types decide alone. */
function withoutHostnameLabel(n: V1Node): V1Node {
  delete n.metadata!.labels!['kubernetes.io/hostname'];
  return n;
}

/** DNS as the test cluster sees it: the resolved IPs are what gets dialled. */
const DNS: Record<string, string[]> = {
  'node-1': ['10.0.1.1'],
  'metadata.internal': ['169.254.169.254'],
  'node5.internal': ['10.0.5.5'],
  'node6.dns': ['10.0.6.6'],
  'node-7': ['10.0.7.7'],
};
/** Like getaddrinfo: a name DNS does not know is an ENOTFOUND error. */
const lookupHost = (host: string) =>
  DNS[host]
    ? Promise.resolve(DNS[host])
    : Promise.reject(Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' }));

/** Endpoints the CVE-2021-25740 guard refuses: none is a named Pod of the Service's own namespace. */
const FOREIGN: EndpointSpec[] = [
  { ip: '10.1.0.1', pod: 'db-0', podNamespace: 'team-b' },
  { ip: '10.1.0.2', pod: 'db-0', podNamespace: null },
  { ip: '10.1.0.3', pod: 'node-1', refKind: 'Node' },
  { ip: '10.1.0.4', pod: null },
  { ip: '10.1.0.5', pod: '' },
];

const state = memoryClusterState({
  services: [
    service('team-a', 'web', [
      { name: 'http', port: 80, targetPort: 8080 },
      { name: 'metrics', port: 9100 },
    ]),
    service('team-a', 'single', [{ name: 'http', port: 80 }]),
    service('team-a', 'empty', [{ name: 'http', port: 80 }]),
    service('team-a', 'manual', [{ name: 'http', port: 80 }], { selector: null }),
    service('team-a', 'mixed', [{ name: 'http', port: 80 }]),
    service('team-a', 'hijacked', [{ name: 'http', port: 80 }]),
    service('team-a', 'sticky', [80], { sessionAffinity: 'ClientIP', sessionAffinityTimeoutSeconds: 60 }),
  ],
  slices: [
    endpointSlice(
      'team-a',
      'web',
      [{ ip: '10.0.0.1' }, { ip: '10.0.0.2', ready: false }],
      [
        { name: 'http', port: 8080 },
        { name: 'metrics', port: 9100 },
      ],
    ),
    endpointSlice(
      'team-a',
      'single',
      [{ ip: '10.0.0.3' }, { ip: '127.0.0.1' }, { ip: '169.254.169.254' }],
      [{ name: 'http', port: 8080 }],
    ),
    // CVE-2021-25740: a selector-less Service's hand-written slice (no targetRef) …
    endpointSlice('team-a', 'manual', [{ ip: '10.1.0.9', pod: null }], [{ name: 'http', port: 80 }]),
    // … and slices whose targetRef does not name a Pod of team-a, beside one genuine endpoint.
    endpointSlice('team-a', 'mixed', [...FOREIGN, { ip: '10.0.0.6' }], [{ name: 'http', port: 8080 }]),
    endpointSlice('team-a', 'hijacked', FOREIGN, [{ name: 'http', port: 8080 }]),
    endpointSlice('team-a', 'sticky', [{ ip: '10.0.0.4' }], [80]),
  ],
  pods: [
    pod('team-a', 'web-0', '10.0.0.1', [{ name: 'http', containerPort: 8080 }, 9090], {
      containers: [{ name: 'sidecar' }],
    }),
    pod('team-a', 'bare', '10.0.0.5'),
    pod('team-a', 'pending', ''),
    pod('team-a', 'loop', '127.0.0.1', [80]),
    // The Pods behind the slices' endpoints (`<service>-<last octet>`), each holding its IP.
    ...[
      ['web-1', '10.0.0.1'],
      ['web-2', '10.0.0.2'],
      ['single-3', '10.0.0.3'],
      ['single-1', '127.0.0.1'],
      ['single-254', '169.254.169.254'],
      ['mixed-6', '10.0.0.6'],
      ['sticky-4', '10.0.0.4'],
    ].map(([name, ip]) => pod('team-a', name, ip)),
  ],
  nodes: [
    node('node-1', '10.0.1.1'),
    withoutHostnameLabel(node('node-2', [])),
    withoutHostnameLabel(
      node('node-3', [
        { type: 'ExternalIP', address: '203.0.113.7' },
        { type: 'InternalIP', address: '10.0.1.3' },
      ]),
    ),
    node('node-4', [{ type: 'Hostname', address: 'metadata.internal' }]),
    // Each preferred type resolves to its own IP, so the test sees which one was chosen.
    withoutHostnameLabel(
      node('node-5', [
        { type: 'InternalIP', address: '10.0.5.1' },
        { type: 'Hostname', address: 'node5.internal' },
      ]),
    ),
    withoutHostnameLabel(
      node('node-6', [
        { type: 'ExternalIP', address: '10.0.6.9' },
        { type: 'InternalIP', address: '10.0.6.1' },
        { type: 'InternalDNS', address: 'node6.dns' },
      ]),
    ),
    node('node-7', [{ type: 'InternalIP', address: '10.0.7.1' }]),
    node('node-8', [
      { type: 'Hostname', address: 'gone.example' },
      { type: 'InternalIP', address: '10.0.8.1' },
    ]),
    node('node-9', [{ type: 'Hostname', address: 'gone.example' }]),
  ],
});

const resolve = createTargetResolver({
  state,
  mayDial: createAddressPolicy(),
  allowSelectorless: false,
  lookupHost,
});
const at = async (url: string) => resolve(parseProxyPath(url)!);
const rejects = async (url: string, status: number, message: string) =>
  assert.rejects(at(url), (e: GatewayError) => e.status === status && e.message === message, url);

test('a named or numbered service port resolves to the endpoint (target) port', async () => {
  for (const seg of ['web:http', 'web:80']) {
    const t = await at(`/api/v1/namespaces/team-a/services/${seg}/proxy/`);
    assert.deepEqual(
      t.endpoints.map((e) => `${e.ip}:${e.port}:${e.ready}`),
      ['10.0.0.1:8080:true', '10.0.0.2:8080:false'],
    );
    assert.equal(t.scheme, 'http');
  }
  const m = await at('/api/v1/namespaces/team-a/services/https:web:metrics/proxy/');
  assert.equal(m.scheme, 'https');
  assert.equal(m.endpoints[0].port, 9100);
});

test('a single-port service is reachable by its bare name (the apiserver answers 503)', async () => {
  const t = await at('/api/v1/namespaces/team-a/services/single/proxy/');
  assert.equal(t.endpoints[0].port, 8080);
});

test('loopback and link-local endpoints are never dialled', async () => {
  const t = await at('/api/v1/namespaces/team-a/services/single:http/proxy/');
  assert.deepEqual(
    t.endpoints.map((e) => e.ip),
    ['10.0.0.3'],
  );
});

test('the address policy refuses IPv6 loopback, link-local and v4-mapped forms of refused v4', () => {
  const mayDial = createAddressPolicy();
  for (const ip of [
    '::1',
    '0:0:0:0:0:0:0:1',
    '::',
    'fe80::1',
    'FE80::abcd',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::FFFF:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:169.254.169.254',
    '::ffff:a9fe:a9fe',
    '0:0:0:0:0:ffff:169.254.169.254',
    'fd00:ec2::254',
    '64:ff9b::169.254.169.254',
    'not-an-ip',
  ])
    assert.equal(mayDial(ip), false, ip);
  for (const ip of ['2001:db8::1', 'fd00:10::5', '::ffff:10.0.0.1', '10.0.0.1'])
    assert.equal(mayDial(ip), true, ip);
  assert.equal(createAddressPolicy(['::1/128'])('::1'), true, 'an allowed range re-admits');
});

test('service errors carry the apiserver messages', async () => {
  await rejects('/api/v1/namespaces/team-a/services/nope/proxy/', 404, 'services "nope" not found');
  await rejects('/api/v1/namespaces/team-b/services/web/proxy/', 404, 'services "web" not found');
  await rejects(
    '/api/v1/namespaces/team-a/services/web:81/proxy/',
    503,
    'no service port 81 found for service "web"',
  );
  await rejects(
    '/api/v1/namespaces/team-a/services/empty/proxy/',
    503,
    'no endpoints available for service "empty"',
  );
  await rejects(
    '/api/v1/namespaces/team-a/services/web/proxy/',
    503,
    'no endpoints available for service "web"',
  );
  await rejects(
    '/api/v1/namespaces/team-a/services/web:nope/proxy/',
    503,
    'no endpoints available for service "web:nope"',
  );
  await rejects(
    '/api/v1/namespaces/team-a/services/manual/proxy/',
    503,
    'no endpoints available for service "manual"',
  );
});

test('CVE-2021-25740: only endpoints whose targetRef is a named Pod of the Service namespace are dialled', async () => {
  const t = await at('/api/v1/namespaces/team-a/services/mixed/proxy/');
  assert.deepEqual(
    t.endpoints.map((e) => `${e.ip} ${e.pod}`),
    ['10.0.0.6 team-a/mixed-6'],
    'a Pod of team-b, a Pod without namespace, a Node, no targetRef and an unnamed Pod are all skipped',
  );
  await rejects(
    '/api/v1/namespaces/team-a/services/hijacked/proxy/',
    503,
    'no endpoints available for service "hijacked"',
  );
});

test('selector-less endpoints are usable only when the config allows them', async () => {
  const lenient = createTargetResolver({
    state,
    mayDial: createAddressPolicy(),
    allowSelectorless: true,
    lookupHost: () => Promise.resolve([]),
  });
  const t = await lenient(parseProxyPath('/api/v1/namespaces/team-a/services/manual/proxy/')!);
  assert.equal(t.endpoints[0].ip, '10.1.0.9');
  // Admitted as selector-less, a foreign targetRef is never taken for a pod of the Service.
  const mixed = await lenient(parseProxyPath('/api/v1/namespaces/team-a/services/mixed/proxy/')!);
  assert.deepEqual(
    mixed.endpoints.map((e) => e.pod),
    [undefined, undefined, undefined, undefined, undefined, 'team-a/mixed-6'],
  );
});

test('ClientIP session affinity is carried to the balancer', async () => {
  const t = await at('/api/v1/namespaces/team-a/services/sticky/proxy/');
  assert.deepEqual(t.affinity, { timeoutSeconds: 60 });
});

test('pod ports: given, named, first declared container port, else 80', async () => {
  const port = async (seg: string) =>
    (await at(`/api/v1/namespaces/team-a/pods/${seg}/proxy/`)).endpoints[0].port;
  assert.equal(await port('web-0'), 8080);
  assert.equal(await port('web-0:9090'), 9090);
  assert.equal(await port('web-0:http'), 8080);
  assert.equal(await port('bare'), 80);
  assert.equal(await port('https:bare:'), 443);
  await rejects(
    '/api/v1/namespaces/team-a/pods/web-0:grpc/proxy/',
    400,
    'pod "web-0" has no container port named "grpc"',
  );
  await rejects('/api/v1/namespaces/team-a/pods/nope/proxy/', 404, 'pods "nope" not found');
  await rejects('/api/v1/namespaces/team-a/pods/pending/proxy/', 400, 'address not allowed');
  await rejects('/api/v1/namespaces/team-a/pods/loop/proxy/', 400, 'address not allowed');
});

test('nodes: kubelet over https by default, a given port over http, address preference, DNS pinned', async () => {
  const kubelet = await at('/api/v1/nodes/node-1/proxy/stats/summary');
  assert.deepEqual(
    [kubelet.scheme, kubelet.endpoints[0].ip, kubelet.endpoints[0].port],
    ['https', '10.0.1.1', 10250],
  );
  const other = await at('/api/v1/nodes/node-1:9100/proxy/metrics');
  assert.deepEqual([other.scheme, other.endpoints[0].port], ['http', 9100]);
  const https = await at('/api/v1/nodes/https:node-1:9100/proxy/metrics');
  assert.equal(https.scheme, 'https');
  const pref = await at('/api/v1/nodes/node-3/proxy/');
  assert.equal(pref.endpoints[0].ip, '10.0.1.3', 'InternalIP is preferred over ExternalIP');
  assert.equal((await at('/api/v1/nodes/node-5/proxy/')).endpoints[0].ip, '10.0.5.5', 'Hostname first');
  assert.equal((await at('/api/v1/nodes/node-6/proxy/')).endpoints[0].ip, '10.0.6.6', 'InternalDNS next');
  assert.equal(
    (await at('/api/v1/nodes/node-7/proxy/')).endpoints[0].ip,
    '10.0.7.7',
    'without a Hostname address, the kubernetes.io/hostname label stands in for it',
  );
  // Naming the kubelet's own port is the same as naming none: https to the kubelet.
  const named = await at('/api/v1/nodes/node-1:10250/proxy/pods');
  assert.deepEqual([named.scheme, named.endpoints[0].port], ['https', 10250]);
  await rejects('/api/v1/nodes/nope/proxy/', 404, 'nodes "nope" not found');
  // A Hostname that resolves to the metadata address is refused (resolved once, then dialled as checked).
  await rejects('/api/v1/nodes/node-4/proxy/', 400, 'address not allowed');
  await assert.rejects(
    at('/api/v1/nodes/node-2/proxy/'),
    (e: GatewayError) => e.status === 500 && /no preferred addresses found/.test(e.message),
  );
});

test('unchanged slices give the same endpoint list (computed once), a change gives a new one', async () => {
  let slices = Object.freeze([
    endpointSlice('team-a', 'web', [{ ip: '10.0.0.1' }], [{ name: 'http', port: 8080 }]),
  ]);
  const base = memoryClusterState({
    services: [service('team-a', 'web', [{ name: 'http', port: 80 }])],
    pods: [pod('team-a', 'web-1', '10.0.0.1'), pod('team-a', 'web-2', '10.0.0.2')],
  });
  let podReads = 0;
  const cached = createTargetResolver({
    state: {
      ...base,
      endpointSlices: () => slices,
      pod: (ns, name) => (podReads++, base.pod(ns, name)),
    },
    mayDial: createAddressPolicy(),
    allowSelectorless: false,
    lookupHost,
  });
  const path = parseProxyPath('/api/v1/namespaces/team-a/services/web/proxy/')!;
  const first = await cached(path);
  assert.equal((await cached(path)).endpoints, first.endpoints);
  assert.equal(podReads, 1, 'the Pod is read when the list is built, not per request');
  slices = Object.freeze([
    endpointSlice('team-a', 'web', [{ ip: '10.0.0.2' }], [{ name: 'http', port: 8080 }]),
  ]);
  const after = await cached(path);
  assert.notEqual(after.endpoints, first.endpoints);
  assert.deepEqual(
    after.endpoints.map((e) => e.ip),
    ['10.0.0.2'],
  );
});

test('a node hostname that does not resolve gives way to the next address type', async () => {
  assert.equal((await at('/api/v1/nodes/node-8/proxy/')).endpoints[0].ip, '10.0.8.1');
  // With nothing else to try, the DNS error is the answer, as from the apiserver.
  await rejects('/api/v1/nodes/node-9/proxy/', 400, 'getaddrinfo ENOTFOUND gone.example');
});

test('the address preference is configurable like --kubelet-preferred-address-types', async () => {
  const resolveWith = (types: string[]) => {
    const r = createTargetResolver({
      state,
      mayDial: createAddressPolicy(),
      allowSelectorless: false,
      lookupHost,
      nodeAddressTypes: types,
    });
    return async (name: string) => (await r(parseProxyPath(`/api/v1/nodes/${name}/proxy/`)!)).endpoints[0].ip;
  };
  assert.equal(await resolveWith(['InternalIP', 'Hostname'])('node-5'), '10.0.5.1');
  assert.equal(await resolveWith(['ExternalIP', 'InternalIP'])('node-6'), '10.0.6.9');
  await assert.rejects(
    resolveWith(['ExternalDNS'])('node-6'),
    (e: GatewayError) =>
      e.status === 500 &&
      e.message.startsWith('no preferred addresses found; known addresses: [{ExternalIP 10.0.6.9}'),
  );
});
