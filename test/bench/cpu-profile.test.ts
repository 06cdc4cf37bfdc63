/**
 * The profile script's attribution: a sample counts for the gateway, a
 * library, Node, native code, V8 or GC by where its function lives, idle time
 * is left out of the shares, and only the window of the load is counted.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attribute, categoryOf, packageOf, type Profile } from '../../bench/lib/cpu-profile.js';

const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0 });

test('a function is attributed by where it lives', () => {
  const cases: [string, string, string][] = [
    ['resolve', 'file:///work/app/src/proxy/resolve.ts', 'gateway'],
    ['resolve', 'file:///app/dist/proxy/resolve.js', 'gateway'],
    ['resolve', 'file:///w/node_modules/.cache/kube-bastion-bench-1a2b3c4d/proxy/resolve.js', 'gateway'],
    ['resolve', 'file:///tmp/kube-bastion-baseline-0123456789ab/dist/proxy/resolve.js', 'gateway'],
    ['observe', 'file:///w/node_modules/prom-client/lib/histogram.js', 'libraries'],
    ['x', 'file:///w/node_modules/some-lib/src/index.js', 'libraries'],
    ['parserOnHeadersComplete', 'node:_http_common', 'node'],
    ['writev', '', 'native'],
    ['(garbage collector)', '', 'gc'],
    ['(program)', '', 'program'],
    ['(idle)', '', 'idle'],
    ['main', 'file:///w/bench/bare-proxy.ts', 'other'],
  ];
  for (const [fn, url, category] of cases) assert.equal(categoryOf(frame(fn, url)), category, url || fn);
  assert.equal(
    packageOf('file:///w/node_modules/@kubernetes/client-node/dist/x.js'),
    '@kubernetes/client-node',
  );
  assert.equal(packageOf('file:///w/node_modules/.cache/kube-bastion-bench-1/cli.js'), undefined);
});

test('shares are of the busy time within the window', () => {
  const nodes = [
    { id: 1, callFrame: frame('(idle)', '') },
    { id: 2, callFrame: frame('route', 'file:///a/src/route.ts') },
    { id: 3, callFrame: frame('writev', '') },
    { id: 4, callFrame: frame('emit', 'node:events') },
  ];
  // One sample every 1 ms: 2 ms of start-up in the gateway (outside the window), then the load.
  const samples = [2, 2, 1, 1, 2, 3, 3, 4];
  const profile: Profile = {
    nodes,
    samples,
    timeDeltas: samples.map(() => 1000),
    startTime: 0,
    endTime: 8000,
  };
  const a = attribute(profile, { from: 2500 });
  assert.equal(a.idleSeconds, 0.002);
  assert.equal(a.busySeconds, 0.004);
  assert.equal(a.shares.gateway, 0.25);
  assert.equal(a.shares.native, 0.5);
  assert.equal(a.shares.node, 0.25);
  assert.equal(a.shares.idle, 0);
});
