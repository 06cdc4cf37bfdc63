/**
 * What the caches keep of an object: every field routing reads, exactly as the
 * API server sent it (a condition left out stays unknown, not false), and none
 * of the bulk (managedFields, annotations, status the proxy never reads).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1EndpointSlice } from '@kubernetes/client-node';
import { slimEndpointSlice, slimPod } from '../../src/kube/slim.js';

const bulk = { managedFields: [{ manager: 'kube-controller-manager', fieldsV1: { f: 'x'.repeat(1000) } }] };

function slice(name: string, conditions: object): V1EndpointSlice {
  return JSON.parse(
    JSON.stringify({
      metadata: {
        name,
        namespace: 'team-a',
        resourceVersion: '7',
        labels: { 'kubernetes.io/service-name': 'web', other: 'dropped' },
        ...bulk,
      },
      addressType: 'IPv4',
      endpoints: [
        {
          addresses: ['10.0.0.1'],
          conditions,
          targetRef: { kind: 'Pod', name: `${name}-pod`, namespace: 'team-a', uid: 'dropped' },
          zone: 'zone-a',
          nodeName: 'node-1',
          hints: { forZones: [{ name: 'zone-a' }] },
        },
      ],
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    }),
  ) as V1EndpointSlice;
}

test('an EndpointSlice keeps what routing reads, conditions exactly as sent, and nothing else', () => {
  const a = slimEndpointSlice(slice('a', { ready: false, serving: true }));
  assert.deepEqual(a, {
    metadata: {
      name: 'a',
      namespace: 'team-a',
      resourceVersion: '7',
      labels: { 'kubernetes.io/service-name': 'web' },
    },
    addressType: 'IPv4',
    endpoints: [
      {
        addresses: ['10.0.0.1'],
        conditions: { ready: false, serving: true, terminating: undefined },
        targetRef: { kind: 'Pod', name: 'a-pod', namespace: 'team-a' },
        zone: 'zone-a',
        hints: { forZones: [{ name: 'zone-a' }] },
        nodeName: 'node-1',
      },
    ],
    ports: [{ name: 'http', port: 8080, protocol: 'TCP', appProtocol: undefined }],
  });
  // Equal conditions and ports are one shared object, which nobody can change under the others.
  const b = slimEndpointSlice(slice('b', { ready: false, serving: true }));
  assert.equal(a.endpoints[0].conditions, b.endpoints[0].conditions);
  assert.equal(a.ports[0], b.ports![0]);
  assert.throws(() => {
    a.endpoints[0].conditions.ready = true;
  }, TypeError);
  const c = slimEndpointSlice(slice('c', { ready: true }));
  assert.deepEqual(c.endpoints[0].conditions, { ready: true, serving: undefined, terminating: undefined });
});

test('a Pod keeps its addresses, node, container ports and deletion, not its bulk', () => {
  const pod = slimPod({
    metadata: { name: 'p', namespace: 'team-a', uid: 'u', deletionTimestamp: new Date(0), ...bulk },
    spec: {
      nodeName: 'node-1',
      containers: [{ name: 'c', image: 'dropped', ports: [{ name: 'http', containerPort: 8080 }] }],
    },
    status: { phase: 'Running', podIP: '10.0.0.1', podIPs: [{ ip: '10.0.0.1' }], conditions: [] },
  });
  assert.equal(pod.status?.podIPs?.[0].ip, '10.0.0.1');
  assert.equal(pod.spec?.nodeName, 'node-1');
  assert.equal(pod.spec?.containers[0].ports?.[0].containerPort, 8080);
  assert.equal(pod.spec?.containers[0].image, undefined);
  assert.ok(pod.metadata?.deletionTimestamp);
  assert.equal((pod.metadata as typeof bulk & object).managedFields, undefined);
});
