/**
 * The benchmark's round-by-round spread: each round's pair of samples gives a
 * ratio of requests per CPU-second, and the report prints their range and
 * median beside the run's figure — on a shared machine one slow 5-s round
 * moves a run's ratio by 10–15 %, and the reader must see that.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { summarize, type BenchResult, type Sample } from '../../bench/harness.js';
import { medianInterval, perRoundRatios, renderMarkdown, targetVerdicts } from '../../bench/report.js';

const sample = (
  contestant: string,
  round: number,
  requests: number,
  cpu: number,
  connections = 32,
  p99 = 2,
): Sample => ({
  contestant,
  round,
  connections,
  cpu,
  requests,
  seconds: 5,
  rps: requests / 5,
  p50: 1,
  p99,
  errors: 0,
});

function result(samples: Sample[], rounds: number): BenchResult {
  const names = [...new Set(samples.map((s) => s.contestant))];
  const contestants = names.map((name) => ({
    name,
    description: name,
    start: () => Promise.reject(new Error()),
  }));
  return {
    startedAt: '2026-12-05T00:00:00.000Z',
    environment: {
      node: 'v24',
      nginx: '1',
      wrk: '4',
      cpus: 2,
      kernel: 'x',
      pinned: true,
      loadAverage: [1, 1],
    },
    options: { contestants: names, seconds: 5, warmupSeconds: 2, rounds, connections: 32 },
    samples,
    summary: summarize(contestants, samples, 32),
    failed: [],
    baseline: { ref: 'HEAD~1', commit: 'f'.repeat(40), as: 'kube-bastion-jwt' },
  };
}

test('each round pairs the two contestants’ samples of that round, at the loaded level only', () => {
  const r = result(
    [
      sample('bare-node', 1, 10_000, 1),
      sample('kube-bastion-jwt', 1, 13_000, 1),
      sample('bare-node', 2, 8_000, 1),
      sample('kube-bastion-jwt', 2, 12_000, 1),
      sample('bare-node', 3, 10_000, 2),
      sample('kube-bastion-jwt', 3, 11_000, 2),
      sample('kube-bastion-jwt', 3, 1, 1, 1), // c1: not a throughput sample
    ],
    3,
  );
  assert.deepEqual(perRoundRatios(r, 'kube-bastion-jwt', 'bare-node'), [1.1, 1.3, 1.5]);
  assert.deepEqual(perRoundRatios(r, 'kube-bastion-jwt', 'nobody'), []);
});

test('the report prints the spread and the median beside the run’s figures', () => {
  const r = result(
    [1, 2, 3, 4, 5].flatMap((round) => [
      sample('bare-node', round, 10_000, 1),
      sample('kube-bastion-jwt', round, [11_500, 12_800, 16_100, 12_400, 13_300][round - 1], 1),
      sample('baseline', round, 11_000, 1),
    ]),
    5,
  );
  const markdown = renderMarkdown(r);
  assert.match(
    markdown,
    /\*\*Round by round\*\* \(req per CPU-s at c32, each round's pair\): against bare-node: /,
  );
  assert.match(markdown, /kube-bastion-jwt 1\.15–1\.61× \(median 1\.28×\)/);
  assert.match(markdown, /baseline 1\.10–1\.10× \(median 1\.10×\)/);
  assert.match(markdown, /kube-bastion-jwt against the baseline: 1\.05–1\.46× \(median 1\.16×\)/);
});

test('the loaded p99 is compared round by round too: one stalled round shows as the outlier it is', () => {
  const r = result(
    [
      // bare-node's third round stalled (19.5 ms); the gateway's second did (15 ms).
      ...[7.8, 5.4, 19.5].map((p99, i) => sample('bare-node', i + 1, 10_000, 1, 32, p99)),
      ...[7.8, 15, 3.9].map((p99, i) => sample('kube-bastion-jwt', i + 1, 13_000, 1, 32, p99)),
      sample('kube-bastion-jwt', 1, 2_000, 1, 1, 50), // c1: not a loaded sample
    ],
    3,
  );
  const ratios = perRoundRatios(r, 'kube-bastion-jwt', 'bare-node', 'p99');
  assert.deepEqual(
    ratios.map((x) => x.toFixed(3)),
    ['0.200', '1.000', '2.778'],
  );
  assert.match(
    renderMarkdown(r),
    /p99 at c32 over bare-node's in the same round \(below 1: lower\): kube-bastion-jwt 0\.20–2\.78× \(median 1\.00×\)\./,
  );
});

test('the median’s interval: the k-th smallest and largest ratios, k from the binomial tails; none from too few rounds', () => {
  const twenty = Array.from({ length: 20 }, (_, i) => i + 1);
  // n = 20 at 90 %: P(Binomial(20, ½) ≤ 5) = 2.1 % per side, ≤ 6 would be 5.8 %: the 6th from each end.
  assert.deepEqual(medianInterval(twenty), [6, 15]);
  assert.deepEqual(medianInterval([1, 2, 3, 4, 5]), [1, 5]); // 2 × 1/32 ≤ 10 %
  assert.equal(medianInterval([1, 2, 3, 4]), undefined); // 2 × 1/16 > 10 %: four rounds cannot say
  assert.deepEqual(medianInterval(twenty, 0.5), [8, 13]); // P(≤ 7) = 13 % per side, ≤ 8 would be 25 %
});

test('each #14 ratio target is judged on its rounds: met, not met, or on the line when the interval spans it', () => {
  const rounds = 12;
  const ramp = (from: number, step: number) => Array.from({ length: rounds }, (_, i) => from + i * step);
  const jwt = ramp(1.15, 0.01); // 1.15 … 1.26: every round under P1's 1.3
  const rbac = ramp(1.155, 0.01); // 1.155 … 1.265: the interval spans 1.2
  const audit = ramp(1.05, 0.01); // all above 1.0
  const samples: Sample[] = [];
  for (let round = 1; round <= rounds; round++) {
    const i = round - 1;
    samples.push(
      sample('bare-node', round, 10_000, 1, 32, 10),
      sample('bare-node', round, 2_000, 1, 1),
      sample('kube-bastion-jwt', round, 10_000 * jwt[i], 1, 32, 9),
      { ...sample('kube-bastion-jwt', round, 2_000, 1, 1), p50: 1 + (i - 5.5) / 100 }, // 0.945 … 1.055
      sample('kube-bastion-rbac', round, 10_000 * rbac[i], 1),
      sample('kube-bastion-audit', round, 10_000 * audit[i], 1),
    );
  }
  const lines = targetVerdicts(result(samples, rounds)).join('\n');
  assert.match(
    lines,
    /P1: kube-bastion-jwt req per CPU-s over bare-node's, ≥ 1\.30×: median 1\.21× \(90 % interval 1\.17–1\.24×, 12 rounds\) — \*\*not met\*\*/,
  );
  assert.match(
    lines,
    /P1-rbac: .* median 1\.21× \(90 % interval 1\.18–1\.25×, 12 rounds\) — \*\*on the line \(the median meets it\)\*\*/,
  );
  assert.match(lines, /P1-audit: .* — \*\*met\*\*/);
  assert.match(
    lines,
    /P2 \(c32 p99\): kube-bastion-jwt p99 at c32 over bare-node's, ≤ 1\.50×: median 0\.90× .* — \*\*met\*\*/,
  );
  assert.match(
    lines,
    /P2 \(c1 p50\): kube-bastion-jwt p50 at c1 over bare-node's, ≤ 1\.00×: median 1\.00× .* — \*\*on the line/,
  );
  // The report carries them; a run without the rows (or with too few rounds) has none.
  const markdown = renderMarkdown(result(samples, rounds));
  assert.match(markdown, /#14's ratio targets, round by round/);
  // The round-by-round line gives the median's interval too, once it is narrower than the range.
  assert.match(markdown, /kube-bastion-jwt 1\.15–1\.26× \(median 1\.21×, 90 % interval 1\.17–1\.24×\)/);
  assert.deepEqual(
    targetVerdicts(
      result(
        samples.filter((s) => s.round <= 4),
        4,
      ),
    ),
    [],
  );
});
