import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AffinityTable } from '../../../src/proxy/balancer/affinity.js';
import type { EndpointRecord } from '../../../src/proxy/balancer/endpoint-set.js';
import { affinityClientKey } from '../../../src/proxy/balancer/index.js';
import { endpoint, fail, picker, service, Clock } from './fixtures.js';

const sticky = service(
  ['10.0.0.1', '10.0.0.2', '10.0.0.3'].map((ip) => endpoint(ip)),
  { affinity: { timeoutSeconds: 60 } },
);

test('with ClientIP affinity a client keeps its endpoint while others spread out', () => {
  const p = picker(new Clock());
  const first = p.pick(sticky, { key: 'ip:192.0.2.7' })!;
  for (let i = 0; i < 50; i++) {
    const ep = p.pick(sticky, { key: 'ip:192.0.2.7' })!;
    p.start(sticky, ep)('success');
    assert.equal(ep.ip, first.ip);
  }
  const others = new Set(
    Array.from({ length: 30 }, (_, i) => p.pick(sticky, { key: `ip:198.51.100.${i}` })!.ip),
  );
  assert.equal(others.size, 3);
});

test('affinity lasts until the client is idle longer than the timeout', () => {
  const clock = new Clock();
  const p = picker(clock, { policy: 'round-robin' });
  const first = p.pick(sticky, { key: 'ip:a' })!.ip;
  p.pick(sticky, { key: 'ip:b' }); // moves the round-robin cursor on
  clock.advance(59_000);
  assert.equal(p.pick(sticky, { key: 'ip:a' })!.ip, first, 'within 60 s');
  clock.advance(59_000);
  assert.equal(p.pick(sticky, { key: 'ip:a' })!.ip, first, 'each request restarts the idle timer');
  clock.advance(60_001);
  assert.notEqual(p.pick(sticky, { key: 'ip:a' })!.ip, first, 'idle too long: chosen afresh');
});

test('a sticky endpoint that disappears or is ejected is replaced, and the new one sticks', () => {
  const clock = new Clock();
  const p = picker(clock);
  const first = p.pick(sticky, { key: 'ip:a' })!;
  const without = { ...sticky, endpoints: sticky.endpoints.filter((e) => e.ip !== first.ip) };
  const second = p.pick(without, { key: 'ip:a' })!;
  assert.notEqual(second.ip, first.ip);
  fail(p, without, second, 3);
  const third = p.pick(without, { key: 'ip:a' })!;
  assert.notEqual(third.ip, second.ip, 'ejected');
  assert.equal(p.pick(without, { key: 'ip:a' })!.ip, third.ip);
});

test('without sessionAffinity the client key plays no part', () => {
  const p = picker(new Clock(), { policy: 'round-robin' });
  const plain = { ...sticky, affinity: undefined, key: 'services/team-a/plain:http' };
  const ips = Array.from({ length: 3 }, () => p.pick(plain, { key: 'ip:a' })!.ip);
  assert.equal(new Set(ips).size, 3);
});

test('affinityKey user: one user sticks across addresses; anonymous callers stick by address', () => {
  const p = picker(new Clock());
  const fromOffice = affinityClientKey('user', { ip: '192.0.2.1', user: 'alice@example.com' });
  const fromPhone = affinityClientKey('user', { ip: '203.0.113.9', user: 'alice@example.com' });
  assert.equal(fromOffice, fromPhone);
  const ep = p.pick(sticky, { key: fromOffice })!;
  for (let i = 0; i < 20; i++) assert.equal(p.pick(sticky, { key: fromPhone })!.ip, ep.ip);

  assert.notEqual(affinityClientKey('user', { ip: '192.0.2.1', user: 'bob' }), fromOffice);
  assert.equal(
    affinityClientKey('user', { ip: '192.0.2.1' }),
    affinityClientKey('client-ip', { ip: '192.0.2.1', user: 'bob' }),
  );
  assert.notEqual(
    affinityClientKey('user', { ip: '10.0.0.1', user: '10.0.0.1' }),
    affinityClientKey('client-ip', { ip: '10.0.0.1' }),
  );
});

test('the affinity table stays bounded: expired clients go first, then the least recently used', () => {
  const clock = new Clock();
  const table = new AffinityTable(100);
  const record = { removed: false } as EndpointRecord;
  for (let i = 0; i < 1000; i++) table.set(`ip:${i}`, record, clock.now(), 60_000);
  assert.equal(table.size, 100);
  assert.equal(table.get('ip:0', clock.now(), 60_000), undefined, 'oldest dropped');
  assert.equal(table.get('ip:900', clock.now(), 60_000), record, 'recent kept');
  clock.advance(30_000);
  table.get('ip:901', clock.now(), 60_000); // still in use
  clock.advance(30_001);
  table.set('ip:new', record, clock.now(), 60_000);
  assert.equal(table.size, 2, 'only ip:901 (used 30 s ago) and the new one are left');
});
