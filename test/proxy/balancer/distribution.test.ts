import assert from 'node:assert/strict';
import { test } from 'node:test';
import { endpoint, picker, service, tally, terminating, Clock } from './fixtures.js';

const three = service([endpoint('10.0.0.1'), endpoint('10.0.0.2'), endpoint('10.0.0.3')]);

test('p2c sends new requests away from the endpoint with many requests in flight', () => {
  const p = picker(new Clock());
  const busy = three.endpoints[0];
  for (let i = 0; i < 20; i++) p.start(three, busy); // 20 slow requests, still running
  const counts = tally(p, three, 300, { finish: true });
  assert.equal(counts['10.0.0.1'] ?? 0, 0, 'p2c always has a less loaded second choice');
  assert.ok(counts['10.0.0.2'] > 100 && counts['10.0.0.3'] > 100, JSON.stringify(counts));
  assert.deepEqual(p.stats(three), { endpoints: 3, ejected: 0, outstanding: 20 });
});

test('p2c spreads requests that stay in flight evenly (least outstanding)', () => {
  const p = picker(new Clock());
  const counts = tally(p, three, 300);
  for (const ip of ['10.0.0.1', '10.0.0.2', '10.0.0.3'])
    assert.ok(Math.abs(counts[ip] - 100) <= 10, JSON.stringify(counts));
});

test('round-robin gives each endpoint exactly its turn', () => {
  const p = picker(new Clock(), { policy: 'round-robin' });
  const order = Array.from({ length: 6 }, (_, i) => p.pick(three, { key: `c${i}` })!.ip);
  assert.deepEqual(order, ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.1', '10.0.0.2', '10.0.0.3']);
  assert.deepEqual(tally(p, three, 300, { finish: true }), {
    '10.0.0.1': 100,
    '10.0.0.2': 100,
    '10.0.0.3': 100,
  });
});

test('random reaches every endpoint, and the same seed makes the same choices', () => {
  const a = tally(picker(new Clock(), { policy: 'random' }), three, 300, { finish: true });
  const b = tally(picker(new Clock(), { policy: 'random' }), three, 300, { finish: true });
  assert.deepEqual(a, b);
  for (const ip of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) assert.ok(a[ip] > 60, JSON.stringify(a));
});

test('only ready endpoints get traffic while any is ready', () => {
  const target = service([
    endpoint('10.0.0.1'),
    terminating('10.0.0.2'),
    endpoint('10.0.0.3', { ready: false, serving: false }),
  ]);
  for (const policy of ['p2c', 'round-robin', 'random'] as const) {
    assert.deepEqual(
      tally(picker(new Clock(), { policy }), target, 50, { finish: true }),
      { '10.0.0.1': 50 },
      policy,
    );
  }
});

test('with no ready endpoint, serving-and-terminating ones take the traffic, like kube-proxy', () => {
  const target = service([
    terminating('10.0.0.1'),
    terminating('10.0.0.2'),
    endpoint('10.0.0.3', { ready: false, serving: false }),
  ]);
  const counts = tally(picker(new Clock(), { policy: 'round-robin' }), target, 10, { finish: true });
  assert.deepEqual(counts, { '10.0.0.1': 5, '10.0.0.2': 5 });
});

test('terminating endpoints that no longer serve, and unready ones, are never picked', () => {
  const target = service([
    terminating('10.0.0.1', { serving: false }),
    endpoint('10.0.0.2', { ready: false, serving: false }),
  ]);
  assert.equal(picker(new Clock()).pick(target, { key: 'c' }), undefined);
  assert.equal(picker(new Clock()).pick(service([]), { key: 'c' }), undefined);
});

test('a retry never goes back to an endpoint this request already tried', () => {
  const p = picker(new Clock());
  const tried = new Set<string>();
  const seen: string[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    const ep = p.pick(three, { key: 'c' }, tried)!;
    seen.push(ep.ip);
    tried.add(`${ep.ip}:${ep.port}`);
  }
  assert.deepEqual([...seen].sort(), ['10.0.0.1', '10.0.0.2', '10.0.0.3']);
  assert.equal(p.pick(three, { key: 'c' }, tried), undefined, 'all tried: nothing left');
});

test('a refreshed target keeps in-flight counts for the endpoints that stayed', () => {
  const p = picker(new Clock());
  const first = three.endpoints[0];
  const done = p.start(three, first);
  // The cluster state hands out a fresh copy with one endpoint gone and one new.
  const refreshed = service([endpoint('10.0.0.1'), endpoint('10.0.0.3'), endpoint('10.0.0.4')]);
  assert.deepEqual(p.stats(refreshed), { endpoints: 3, ejected: 0, outstanding: 1 });
  done('success');
  done('success'); // a second call is ignored
  assert.deepEqual(p.stats(refreshed), { endpoints: 3, ejected: 0, outstanding: 0 });
  const counts = tally(p, refreshed, 30, { finish: true });
  assert.equal(counts['10.0.0.2'], undefined, 'the removed endpoint is forgotten');
});
