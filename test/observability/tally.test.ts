/**
 * The per-request counters count in plain numbers and hand them to
 * prom-client when read: every read (a scrape, get()) must see every count,
 * and the bound on label sets must never drop one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Counter, Registry } from 'prom-client';
import { rememberingTallyKey, Tally, tallyKey } from '../../src/observability/tally.js';
import { createMetrics } from '../../src/observability/metrics.js';

function tallied(max?: number) {
  const registry = new Registry();
  const tally: Tally<'method' | 'result'> = new Tally(() => counter, ['method', 'result'], max);
  const counter: Counter<'method' | 'result'> = new Counter({
    name: 'test_total',
    help: 'test',
    labelNames: ['method', 'result'],
    registers: [registry],
    collect: () => tally.flush(),
  });
  const value = async (method: string, result: string) =>
    (await counter.get()).values.find((v) => v.labels.method === method && v.labels.result === result)
      ?.value ?? 0;
  return { registry, tally, value };
}

test('every count is in the counter whenever it is read, and only once', async () => {
  const { tally, value, registry } = tallied();
  for (let i = 0; i < 3; i++) tally.inc(tallyKey('jwt', 'success'));
  tally.inc(tallyKey('session', 'failure'));
  assert.equal(await value('jwt', 'success'), 3);
  assert.equal(await value('session', 'failure'), 1);
  // Read again with nothing new: nothing is added twice.
  assert.equal(await value('jwt', 'success'), 3);
  tally.inc(tallyKey('jwt', 'success'));
  assert.match(await registry.metrics(), /^test_total\{method="jwt",result="success"\} 4$/m);
});

test('past its bound of label sets it hands over what it holds and starts again, losing nothing', async () => {
  const { tally, value } = tallied(2);
  tally.inc(tallyKey('a', 'x'));
  tally.inc(tallyKey('b', 'x'));
  tally.inc(tallyKey('c', 'x')); // a third set: a and b go to the counter first
  tally.inc(tallyKey('a', 'x'));
  assert.deepEqual([await value('a', 'x'), await value('b', 'x'), await value('c', 'x')], [2, 1, 1]);
});

test("the gateway's request, authentication and decision counters count through tallies", async () => {
  const m = createMetrics();
  m.tallies.requests.inc(tallyKey('team-a', 'services', '200'));
  m.tallies.authentications.inc(tallyKey('jwt', 'success'));
  m.tallies.decisions.inc(tallyKey(true, 'rule[0]'));
  const text = await m.registry.metrics();
  assert.match(text, /^kube_bastion_requests_total\{namespace="team-a",kind="services",code="200"\} 1$/m);
  assert.match(text, /^kube_bastion_authentications_total\{method="jwt",result="success"\} 1$/m);
  assert.match(text, /^kube_bastion_authorization_decisions_total\{allowed="true",by="rule\[0\]"\} 1$/m);
});

test('a call site’s remembered key is the key of the labels it is given, whatever came before', () => {
  const key = rememberingTallyKey();
  const seq: Array<[string | boolean, string, string?]> = [
    ['team-a', 'services', '200'],
    ['team-a', 'services', '200'],
    ['team-a', 'services', '404'],
    ['team-b', 'services', '404'],
    [true, 'rule[0]'],
    ['team-a', 'services', '200'],
  ];
  for (const [a, b, c] of seq) assert.equal(key(a, b, c), tallyKey(a, b, c));
});
