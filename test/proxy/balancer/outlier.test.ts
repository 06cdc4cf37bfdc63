import assert from 'node:assert/strict';
import { test } from 'node:test';
import { outcomeForStatus } from '../../../src/proxy/balancer/index.js';
import { endpoint, fail, picker, service, tally, Clock } from './fixtures.js';

const four = service(['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'].map((ip) => endpoint(ip)));
const [a, b, c] = four.endpoints as [
  ReturnType<typeof endpoint>,
  ReturnType<typeof endpoint>,
  ReturnType<typeof endpoint>,
];

test('consecutive failures eject an endpoint; a success in between resets the count', () => {
  const clock = new Clock();
  const p = picker(clock);
  fail(p, four, a, 2);
  p.start(four, a)('success');
  fail(p, four, a, 2, 'server-error');
  assert.equal(p.stats(four).ejected, 0, 'never 3 in a row');
  p.start(four, a)('server-error');
  assert.equal(p.stats(four).ejected, 1);
  assert.equal(tally(p, four, 60, { finish: true })['10.0.0.1'], undefined, 'ejected: no traffic');
});

test('cancelled requests say nothing about the endpoint', () => {
  const p = picker(new Clock());
  for (let i = 0; i < 10; i++) p.start(four, a)('cancelled');
  assert.deepEqual(p.stats(four), { endpoints: 4, ejected: 0, outstanding: 0 });
});

test('an ejected endpoint returns after base × ejections, and fails back out faster and for longer', () => {
  const clock = new Clock();
  const p = picker(clock);
  fail(p, four, a, 3);
  clock.advance(9_999);
  assert.equal(p.stats(four).ejected, 1);
  clock.advance(2);
  assert.equal(p.stats(four).ejected, 0, 'back after 10 s');
  assert.ok(tally(p, four, 40, { finish: false })['10.0.0.1'] > 0, 'gets traffic again');

  // On probation: one failure is enough, and the second ejection lasts 2 × 10 s.
  fail(p, four, a, 1);
  assert.equal(p.stats(four).ejected, 1);
  clock.advance(19_999);
  assert.equal(p.stats(four).ejected, 1);
  clock.advance(2);
  assert.equal(p.stats(four).ejected, 0);

  // Three successes end the probation: a single failure no longer ejects.
  for (let i = 0; i < 3; i++) p.start(four, a)('success');
  fail(p, four, a, 1);
  assert.equal(p.stats(four).ejected, 0);
  fail(p, four, a, 2);
  assert.equal(p.stats(four).ejected, 1, 'third ejection');
  clock.advance(29_999);
  assert.equal(p.stats(four).ejected, 1, 'lasts 3 × 10 s');
});

test('ejection time is capped, and the history fades while the endpoint stays healthy', () => {
  const clock = new Clock();
  const p = picker(clock, {
    outlierDetection: {
      consecutiveFailures: 1,
      baseEjectionTime: 10_000,
      maxEjectionPercent: 50,
      maxEjectionTime: 25_000,
    },
  });
  for (const expected of [10_000, 20_000, 25_000, 25_000]) {
    fail(p, four, a, 1);
    clock.advance(expected - 1);
    assert.equal(p.stats(four).ejected, 1, `still out before ${expected} ms`);
    clock.advance(2);
    assert.equal(p.stats(four).ejected, 0, `back after ${expected} ms`);
  }
  clock.advance(4 * 25_000); // long healthy: the four ejections are forgiven
  fail(p, four, a, 1);
  clock.advance(10_001);
  assert.equal(p.stats(four).ejected, 0, 'starts from the base time again');
});

test('never more than half of the endpoints are ejected, however many fail', () => {
  const clock = new Clock();
  const p = picker(clock);
  for (const ep of four.endpoints) fail(p, four, ep, 3);
  assert.equal(p.stats(four).ejected, 2, '50 % of 4');
  const counts = tally(p, four, 40, { finish: false });
  assert.equal(Object.keys(counts).length, 2, 'the other two keep serving');

  // A lower maxEjectionPercent lowers the cap; one endpoint alone is never ejected.
  const strict = picker(clock, {
    outlierDetection: { consecutiveFailures: 3, baseEjectionTime: 10_000, maxEjectionPercent: 25 },
  });
  for (const ep of four.endpoints) fail(strict, four, ep, 3);
  assert.equal(strict.stats(four).ejected, 1);
  const lone = service([endpoint('10.0.0.9')], { key: 'pods/team-a/one' });
  fail(p, lone, lone.endpoints[0], 10);
  assert.equal(p.stats(lone).ejected, 0);
});

test('an endpoint held back by the cap is ejected once another one returns', () => {
  const clock = new Clock();
  const p = picker(clock);
  fail(p, four, a, 3);
  clock.advance(5_000);
  fail(p, four, b, 3);
  fail(p, four, c, 3); // over the cap: counted, not ejected
  assert.equal(p.stats(four).ejected, 2);
  clock.advance(5_001); // a returns
  fail(p, four, c, 1);
  assert.equal(p.stats(four).ejected, 2);
  assert.equal(tally(p, four, 40, { finish: false })['10.0.0.3'], undefined, 'c is out now');
});

test('when every candidate is ejected, traffic still flows rather than failing without trying', () => {
  const clock = new Clock();
  const p = picker(clock);
  const two = service([endpoint('10.0.0.1'), endpoint('10.0.0.2')], { key: 'services/team-a/two:http' });
  fail(p, two, two.endpoints[0], 3);
  assert.equal(p.pick(two, { key: 'c' }, new Set(['10.0.0.2:8080']))?.ip, '10.0.0.1');
});

test('5xx statuses are server errors for outlier detection, everything else is success', () => {
  assert.equal(outcomeForStatus(503), 'server-error');
  assert.equal(outcomeForStatus(500), 'server-error');
  assert.equal(outcomeForStatus(404), 'success');
  assert.equal(outcomeForStatus(200), 'success');
});
