/**
 * The request path's histograms count in plain numbers (tally-histogram.ts);
 * what /metrics prints must be what prom-client's Histogram prints for the
 * same observations, byte for byte: dashboards and alerts read these lines.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Histogram, Registry } from 'prom-client';
import { TallyHistogram } from '../../src/observability/tally-histogram.js';

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Deterministic values: on bounds, between them, 0, above every bound, and the durations a request takes. */
function values(n: number): number[] {
  let x = 7;
  const out = [0, 0.0005, 0.001, 30, 31, 1e-9, 2.5, 0.3];
  while (out.length < n) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    out.push((x / 2 ** 31) ** 3 * 40);
  }
  return out;
}

function pair(labelNames: string[]) {
  const ours = new Registry();
  const theirs = new Registry();
  const o = { name: 'kb_test_seconds', help: 'A test "histogram" \\ with odd help.', buckets: BUCKETS };
  return {
    ours,
    theirs,
    tally: new TallyHistogram({ ...o, labelNames: labelNames as never[], registers: [ours] }),
    prom: new Histogram({ ...o, labelNames, registers: [theirs] }),
  };
}

test('labelled: the same text and JSON as prom-client for the same observations, series in first-seen order', async () => {
  const { ours, theirs, tally, prom } = pair(['kind']);
  assert.equal(await ours.metrics(), await theirs.metrics(), 'nothing observed yet: no series');
  const kinds = ['services', 'pods', 'page', 'x"quoted\\n'];
  values(2000).forEach((v, i) => {
    const kind = kinds[(i * 7) % kinds.length];
    tally.labels(kind).observe(v);
    prom.labels(kind).observe(v);
  });
  assert.equal(await ours.metrics(), await theirs.metrics());
  assert.deepEqual(await ours.getMetricsAsJSON(), await theirs.getMetricsAsJSON());
});

test('unlabelled: zeros before the first observation, then the same lines; after a reset nothing until observed again', async () => {
  const { ours, theirs, tally, prom } = pair([]);
  assert.equal(await ours.metrics(), await theirs.metrics());
  for (const v of values(500)) {
    tally.observe(v);
    prom.observe(v);
  }
  assert.equal(await ours.metrics(), await theirs.metrics());
  ours.resetMetrics();
  theirs.resetMetrics();
  assert.equal(await ours.metrics(), await theirs.metrics(), 'after a reset');
  tally.observe(0.2);
  prom.observe(0.2);
  assert.equal(await ours.metrics(), await theirs.metrics());
});

test('a value that is not a number is refused, as prom-client refuses it', () => {
  const { tally, prom } = pair([]);
  assert.throws(() => prom.observe(Number.NaN), TypeError);
  assert.throws(() => tally.observe(Number.NaN), TypeError);
  assert.throws(() => tally.labels('a').observe(1), /label values expected/);
});
