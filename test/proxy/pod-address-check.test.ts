/**
 * The Pod-owns-IP check on its own, with a test clock and a Pod reader the
 * test controls: how many reads it makes, how many at once, and what a
 * failed read or a moved Pod does to a confirmation.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { PodAddressCheck, type PodCheckResult } from '../../src/proxy/pod-address-check.js';
import { pod } from '../support/fake-apiserver/objects.js';

function world(pods: Record<string, string>) {
  let now = 0;
  let inFlight = 0;
  let most = 0;
  let reads = 0;
  let failing = false;
  const results: PodCheckResult[] = [];
  const check = new PodAddressCheck({
    pod: async (namespace, name): Promise<V1Pod | undefined> => {
      reads++;
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setImmediate(r));
      inFlight--;
      if (failing) throw new Error('API server away');
      return pods[name] === undefined ? undefined : pod(namespace, name, pods[name]);
    },
    recheckAfterMs: 60_000,
    concurrency: 4,
    now: () => now,
    onResult: (r) => results.push(r),
  });
  return {
    check,
    pods,
    results,
    reads: () => reads,
    most: () => most,
    advance: (ms: number) => (now += ms),
    fail: (on: boolean) => (failing = on),
  };
}

test('reads run at most `concurrency` at a time, and a confirmation is reused until the recheck', async () => {
  const pods = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`p-${i}`, `10.0.0.${i}`]));
  const w = world(pods);
  const pairs = Object.entries(pods).map(([name, ip]) => ({ pod: name, ip }));
  assert.equal(await w.check.refresh('ns', pairs), true);
  assert.equal(w.reads(), 40);
  assert.equal(w.most(), 4);
  assert.equal(await w.check.refresh('ns', pairs), true);
  assert.equal(w.reads(), 40, 'nothing read again before recheckAfter');
  w.advance(60_000);
  await w.check.refresh('ns', pairs);
  assert.equal(w.reads(), 80);
});

test('another Pod, a missing Pod or another namespace is never a confirmation', async () => {
  const w = world({ web: '10.0.0.1', db: '10.0.0.2' });
  assert.equal(await w.check.refresh('team-a', [{ pod: 'web', ip: '10.0.0.2' }]), false);
  assert.equal(await w.check.refresh('team-a', [{ pod: 'ghost', ip: '10.0.0.2' }]), false);
  assert.equal(w.check.isConfirmed('team-a', { pod: 'web', ip: '10.0.0.2' }), false);
  assert.equal(await w.check.refresh('team-a', [{ pod: 'web', ip: '10.0.0.1' }]), true);
  assert.equal(w.check.isConfirmed('team-b', { pod: 'web', ip: '10.0.0.1' }), false);
});

test('a failed read keeps a confirmation; a Pod that moved loses it', async () => {
  const w = world({ web: '10.0.0.1' });
  const pair = { pod: 'web', ip: '10.0.0.1' };
  await w.check.refresh('ns', [pair]);
  w.advance(60_000);
  w.fail(true);
  assert.equal(await w.check.refresh('ns', [pair]), true, 'the API server being away does not drop it');
  w.fail(false);
  w.pods.web = '10.0.0.9';
  assert.equal(await w.check.refresh('ns', [pair]), false);
  assert.deepEqual(w.results, ['confirmed', 'error', 'refuted']);
  assert.equal(w.check.size, 0);
});
