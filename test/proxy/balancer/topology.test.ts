import assert from 'node:assert/strict';
import { test } from 'node:test';
import { endpoint, fail, picker, service, tally, terminating, Clock } from './fixtures.js';

const spread = [
  endpoint('10.0.1.1', { zone: 'zone-a' }),
  endpoint('10.0.1.2', { zone: 'zone-a' }),
  endpoint('10.0.2.1', { zone: 'zone-b' }),
  endpoint('10.0.3.1', { zone: 'zone-c' }),
];
const preferClose = service(spread, { trafficDistribution: 'PreferClose' });

test('PreferClose: a gateway in zone-a sends everything to zone-a endpoints', () => {
  const counts = tally(picker(new Clock(), { zone: 'zone-a' }), preferClose, 100, { finish: true });
  assert.deepEqual(Object.keys(counts).sort(), ['10.0.1.1', '10.0.1.2']);
});

test('without PreferClose, or without a known zone, every zone gets traffic', () => {
  const all = tally(picker(new Clock(), { zone: 'zone-a', policy: 'round-robin' }), service(spread), 40, {
    finish: true,
  });
  assert.equal(Object.keys(all).length, 4);
  const noZone = tally(picker(new Clock(), { policy: 'round-robin' }), preferClose, 40, { finish: true });
  assert.equal(Object.keys(noZone).length, 4);
});

test('with no endpoint in our zone, PreferClose falls back to all of them', () => {
  const counts = tally(picker(new Clock(), { zone: 'zone-z', policy: 'round-robin' }), preferClose, 40, {
    finish: true,
  });
  assert.equal(Object.keys(counts).length, 4);
});

test('when the in-zone endpoints are ejected, the other zones take over', () => {
  const clock = new Clock();
  const p = picker(clock, { zone: 'zone-c' });
  fail(p, preferClose, spread[3], 3);
  const counts = tally(p, preferClose, 40, { finish: true });
  assert.equal(counts['10.0.3.1'], undefined);
  assert.equal(Object.keys(counts).length, 3);
});

test('topology hints for our zone are followed when every endpoint has them', () => {
  const hinted = service([
    endpoint('10.0.1.1', { zone: 'zone-a', hintZones: ['zone-a'] }),
    endpoint('10.0.2.1', { zone: 'zone-b', hintZones: ['zone-b', 'zone-a'] }),
    endpoint('10.0.3.1', { zone: 'zone-c', hintZones: ['zone-c'] }),
  ]);
  const counts = tally(picker(new Clock(), { zone: 'zone-a', policy: 'round-robin' }), hinted, 40, {
    finish: true,
  });
  assert.deepEqual(counts, { '10.0.1.1': 20, '10.0.2.1': 20 });
  // Partial hints are ignored (kube-proxy does the same): all endpoints serve.
  const partial = service([
    endpoint('10.0.1.1', { zone: 'zone-a', hintZones: ['zone-a'] }),
    endpoint('10.0.2.1', { zone: 'zone-b' }),
  ]);
  assert.equal(
    Object.keys(
      tally(picker(new Clock(), { zone: 'zone-a', policy: 'round-robin' }), partial, 10, { finish: true }),
    ).length,
    2,
  );
});

test('readiness comes before closeness: a ready far endpoint beats a terminating near one', () => {
  const target = service(
    [terminating('10.0.1.1', { zone: 'zone-a' }), endpoint('10.0.2.1', { zone: 'zone-b' })],
    { trafficDistribution: 'PreferClose' },
  );
  assert.deepEqual(tally(picker(new Clock(), { zone: 'zone-a' }), target, 10, { finish: true }), {
    '10.0.2.1': 10,
  });
});

test('state for targets nobody uses any more is forgotten', () => {
  const clock = new Clock();
  const p = picker(clock, { targetIdleTime: 60_000 });
  for (let i = 0; i < 50; i++) p.pick(service(spread, { key: `services/ns/svc-${i}:http` }), { key: 'c' });
  assert.equal(p.targets, 50);
  clock.advance(61_000);
  p.pick(preferClose, { key: 'c' });
  assert.equal(p.targets, 1);
});
