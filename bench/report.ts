/** The benchmark's outputs: a JSON file per run and the table in docs/performance.md. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { median, type BenchResult, type Sample } from './harness.js';
import type { PodCheckRow } from './pod-check.js';
import type { PortalResult } from './portal.js';
import type { ScaleResult } from './scale.js';
import type { TunnelDirection, TunnelResult } from './tunnel.js';

export const REPRODUCE = 'npm run bench';
const marker = (block: string, edge: 'begin' | 'end') => `<!-- bench:${block}:${edge} -->`;

export function writeJSON(result: BenchResult, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${result.startedAt.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}

// A contestant without samples (no rounds) has NaN medians: shown as a dash.
const int = (n: number) => (Number.isNaN(n) ? '–' : Math.round(n).toLocaleString('en-US'));
const ms = (n: number) => (Number.isNaN(n) ? '–' : n < 1 ? n.toFixed(3) : n.toFixed(2));
const ratio = (n: number | undefined) => (n === undefined ? '–' : `${n.toFixed(2)}×`);

/**
 * What is compared round by round, per sample, and at which load level: requests per CPU-second
 * (higher is better) and the p99 at the loaded level, or the p50 at one connection (lower is
 * better); undefined when the sample cannot say.
 */
const ROUND_METRICS = {
  cpu: {
    at: 'loaded',
    higherIsBetter: true,
    label: () => 'req per CPU-s',
    value: (s: Sample) => (s.cpu > 0 ? s.requests / s.cpu : undefined),
  },
  p99: {
    at: 'loaded',
    higherIsBetter: false,
    label: (connections: number) => `p99 at c${connections}`,
    value: (s: Sample) => (s.p99 > 0 ? s.p99 : undefined),
  },
  p50c1: {
    at: 1,
    higherIsBetter: false,
    label: () => 'p50 at c1',
    value: (s: Sample) => (s.p50 > 0 ? s.p50 : undefined),
  },
} as const;
export type RoundMetric = keyof typeof ROUND_METRICS;

/**
 * A ratio, round by round: `a`'s sample in a round against `b`'s in the same round; sorted. `cpu`
 * compares requests per CPU-second, `p99` the loaded p99 and `p50c1` the p50 at one connection (a
 * over b: below 1 is `a` faster). One slow 5-s round moves a run's figure by 10–15 % (p99: by 2× and
 * more) on a shared machine, so the spread is printed beside the run's figure (docs/performance.md,
 * "Reading the numbers").
 */
export function perRoundRatios(
  result: BenchResult,
  a: string,
  b: string,
  metric: RoundMetric = 'cpu',
): number[] {
  const { at: level, value } = ROUND_METRICS[metric];
  const connections = level === 'loaded' ? result.options.connections : level;
  const at = (name: string, round: number) =>
    result.samples.find((s) => s.contestant === name && s.round === round && s.connections === connections);
  const ratios: number[] = [];
  for (let round = 1; round <= result.options.rounds; round++) {
    const [x, y] = [at(a, round), at(b, round)];
    const [vx, vy] = [x && value(x), y && value(y)];
    if (vx !== undefined && vy) ratios.push(vx / vy);
  }
  return ratios.sort((p, q) => p - q);
}

/**
 * A distribution-free interval for the median of `sorted` (ascending): the k-th smallest and k-th
 * largest values, k the largest for which the chance that the median falls outside is at most
 * 1 − `confidence` (each value below or above the median with probability ½: binomial tails).
 * Undefined when there are too few values for that confidence (90 %: fewer than 5).
 */
export function medianInterval(sorted: readonly number[], confidence = 0.9): [number, number] | undefined {
  const n = sorted.length;
  // P(Binomial(n, ½) ≤ j) for j = 0, 1, …: the chance that at most j values fall below the median.
  let tail = 0;
  let choose = 1;
  let k = 0;
  for (let j = 0; j < n / 2; j++) {
    tail += choose / 2 ** n;
    choose = (choose * (n - j)) / (j + 1);
    if (2 * tail > 1 - confidence) break;
    k = j + 1;
  }
  return k === 0 ? undefined : [sorted[k - 1], sorted[n - k]];
}

/**
 * #14's targets that are ratios to bare-node within one run: each gateway row's requests per
 * CPU-second (P1), and the jwt row's loaded p99 and one-connection p50 (P2: its p50 added over
 * direct at most bare-node's, the same as its p50 at most bare-node's in the same round).
 */
export const RATIO_TARGETS: readonly { label: string; row: string; metric: RoundMetric; line: number }[] = [
  { label: 'P1', row: 'kube-bastion-jwt', metric: 'cpu', line: 1.3 },
  { label: 'P1-rbac', row: 'kube-bastion-rbac', metric: 'cpu', line: 1.2 },
  { label: 'P1-audit', row: 'kube-bastion-audit', metric: 'cpu', line: 1.0 },
  { label: 'P2 (c32 p99)', row: 'kube-bastion-jwt', metric: 'p99', line: 1.5 },
  { label: 'P2 (c1 p50)', row: 'kube-bastion-jwt', metric: 'p50c1', line: 1.0 },
];

/**
 * Each target judged on the round-by-round ratios: their median against the line, and whether the
 * 90 % interval of that median clears it ("met", "not met") or spans it ("on the line").
 */
export function targetVerdicts(result: BenchResult): string[] {
  const lines: string[] = [];
  for (const t of RATIO_TARGETS) {
    const ratios = perRoundRatios(result, t.row, 'bare-node', t.metric);
    const interval = medianInterval(ratios);
    if (!interval) continue;
    const { higherIsBetter, label } = ROUND_METRICS[t.metric];
    const passes = (x: number) => (higherIsBetter ? x >= t.line : x <= t.line);
    // The interval's end nearer the line's failing side decides "met"; the other end, "not met".
    const [worse, better] = higherIsBetter ? interval : [interval[1], interval[0]];
    const m = median(ratios);
    const verdict = passes(worse)
      ? 'met'
      : !passes(better)
        ? 'not met'
        : `on the line (the median ${passes(m) ? 'meets' : 'misses'} it)`;
    lines.push(
      `- ${t.label}: ${t.row} ${label(result.options.connections)} over bare-node's, ${higherIsBetter ? '≥' : '≤'} ${t.line.toFixed(2)}×: ` +
        `median ${ratio(m)} (90 % interval ${interval[0].toFixed(2)}–${interval[1].toFixed(2)}×, ${ratios.length} rounds) — **${verdict}**`,
    );
  }
  if (lines.length === 0) return [];
  return [
    '',
    "**#14's ratio targets, round by round** (each round's pair of samples; the interval is the median's, distribution-free):",
    ...lines,
  ];
}

/** "1.14–1.69× (median 1.22×, 90 % interval 1.17–1.30×)", or undefined without at least two rounds. */
function spread(ratios: readonly number[]): string | undefined {
  if (ratios.length < 2) return undefined;
  const interval = medianInterval(ratios);
  // With five rounds the median's interval is the range itself: said once.
  const narrower =
    interval && (interval[0] !== ratios[0] || interval[1] !== ratios.at(-1))
      ? `, 90 % interval ${interval[0].toFixed(2)}–${interval[1].toFixed(2)}×`
      : '';
  return `${ratios[0].toFixed(2)}–${ratios.at(-1)!.toFixed(2)}× (median ${ratio(median(ratios))}${narrower})`;
}

/** The gateway rows against bare-node (and this build against its baseline), round by round. */
function perRoundLine(result: BenchResult): string[] {
  const names = result.summary
    .map((s) => s.name)
    .filter((n) => n.startsWith('kube-bastion') || n === 'baseline');
  const against = (metric: RoundMetric) =>
    names
      .map((n) => [n, spread(perRoundRatios(result, n, 'bare-node', metric))] as const)
      .filter((p): p is readonly [string, string] => p[1] !== undefined)
      .map(([n, s]) => `${n} ${s}`);
  const parts = against('cpu');
  const b = result.baseline;
  const vsBase = b && spread(perRoundRatios(result, b.as, 'baseline'));
  if (parts.length === 0 && !vsBase) return [];
  const c = result.options.connections;
  const tails = against('p99');
  return [
    '',
    `**Round by round** (req per CPU-s at c${c}, each round's pair): ` +
      [
        parts.length > 0 ? `against bare-node: ${parts.join('; ')}` : '',
        vsBase ? `${b.as} against the baseline: ${vsBase}` : '',
      ]
        .filter(Boolean)
        .join('; ') +
      '.' +
      (tails.length > 0
        ? ` p99 at c${c} over bare-node's in the same round (below 1: lower): ${tails.join('; ')}.`
        : ''),
  ];
}

/** "This build against the baseline": the mirrored row's ratios, in one sentence. */
function baselineLine(result: BenchResult): string[] {
  const b = result.baseline;
  const base = result.summary.find((s) => s.name === 'baseline');
  const mine = result.summary.find((s) => s.name === b?.as);
  if (!b || !base || !mine) return [];
  return [
    '',
    `**This build against the baseline** (\`${b.ref}\` = ${b.commit.slice(0, 12)}, run as ${b.as}, interleaved in the same rounds): ` +
      `req per CPU-s ${int(mine.reqPerCpuSecond)} vs ${int(base.reqPerCpuSecond)} = **${ratio(mine.vsBaseline)}**; ` +
      `req/s ${int(mine.rps)} vs ${int(base.rps)} = ${ratio(mine.rps / base.rps)}; ` +
      `p50 (c1) ${ms(mine.p50)} vs ${ms(base.p50)} ms; p99 (c${result.options.connections}) ${ms(mine.p99Loaded)} vs ${ms(base.p99Loaded)} ms.`,
  ];
}

export function renderMarkdown(result: BenchResult, jsonFile?: string): string {
  const { environment: env, options: o } = result;
  const withBaseline = result.summary.some((s) => s.vsBaseline !== undefined);
  const rows = result.summary.map(
    (s) =>
      `| ${s.name} | ${int(s.rps)} | ${int(s.reqPerCpuSecond)} | ${s.cores.toFixed(2)} | ${ms(s.p50)} | ${ms(s.p99)} | ${ms(s.p99Loaded)} | ` +
      `${ratio(s.vsDirect)} | ${ratio(s.vsNginx)} | ${ratio(s.vsBareNode)} | ${ratio(s.cpuVsBareNode)} |` +
      `${withBaseline ? ` ${ratio(s.vsBaseline)} |` : ''}${s.errors ? ` ⚠ ${s.errors} errors` : ''}`,
  );
  return [
    `Measured ${result.startedAt} — Node ${env.node}, nginx ${env.nginx}, wrk ${env.wrk}, ${env.cpus} CPUs, Linux ${env.kernel}, ` +
      `${env.pinned ? 'wrk + backend pinned to core 0, contestant to core 1' : 'not pinned'}; ` +
      `${o.rounds} interleaved rounds of ${o.seconds} s per load level after ${o.warmupSeconds} s warm-up; ` +
      `1-min load average ${env.loadAverage.map((l) => l.toFixed(1)).join(' → ')} (before → after).`,
    '',
    `| contestant | req/s (c${o.connections}) | req per CPU-s | CPU cores used | p50 ms (c1) | p99 ms (c1) | p99 ms (c${o.connections}) | vs direct | vs nginx | vs bare Node | per CPU-s vs bare Node |` +
      (withBaseline ? ' per CPU-s vs baseline |' : ''),
    `|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|${withBaseline ? '--:|' : ''}`,
    ...rows,
    ...baselineLine(result),
    ...perRoundLine(result),
    ...targetVerdicts(result),
    '',
    '_vs direct / nginx / bare Node_ compare req/s; the _per CPU-s_ columns compare requests per CPU-second, the figure that holds up on a busy machine.',
    '',
    ...result.summary.map((s) => `- **${s.name}**: ${s.description}`),
    ...result.failed.map((f) => `- **${f.name}** did not start: ${f.error}`),
    '',
    `Reproduce: \`${REPRODUCE}${result.baseline ? ` -- --baseline ${result.baseline.ref}${result.baseline.as === 'kube-bastion-jwt' ? '' : ` --baseline-as ${result.baseline.as}`}` : ''}\`` +
      `${jsonFile ? ` (raw samples of this run: \`${jsonFile}\`)` : ''}.`,
  ].join('\n');
}

/** The issue's P3 targets at 10k Services / 50k endpoints. */
export const SCALE_TARGETS = { rssReadyMB: 150, readyMs: 2000 };

const scaleRow = (label: string, s: ScaleResult) =>
  `| ${label} | ${int(s.services)} | ${int(s.endpoints)} | ${(s.readyMs / 1000).toFixed(2)} s | ${(s.readyCpuMs / 1000).toFixed(2)} s | ${s.rssReadyMB.toFixed(0)} MB | ` +
  `${s.rssAfterMB.toFixed(0)} MB | ${s.rssPeakMB.toFixed(0)} MB | ${s.heapUsedMB.toFixed(0)} MB |`;

function scaleVerdict(s: ScaleResult): string {
  if (s.services !== 10_000 || s.endpoints !== 50_000) {
    return `The #14 P3 targets are set for 10,000 Services / 50,000 endpoints; this run had another size and does not decide them.`;
  }
  const met = (ok: boolean) => (ok ? 'met' : 'not met');
  return (
    `Targets (#14 P3): RSS at ready ≤ ${SCALE_TARGETS.rssReadyMB} MB — ${met(s.rssReadyMB <= SCALE_TARGETS.rssReadyMB)} ` +
    `(${s.rssReadyMB.toFixed(0)} MB); ready ≤ ${SCALE_TARGETS.readyMs / 1000} s — ${met(s.readyMs <= SCALE_TARGETS.readyMs)} ` +
    `(${(s.readyMs / 1000).toFixed(2)} s of wall time, ${(s.readyCpuMs / 1000).toFixed(2)} s of the gateway's CPU, ` +
    `at a load average of ${s.loadAverage[0].toFixed(1)} on ${availableParallelism()} CPUs: wall time stretches with the load, CPU time much less).`
  );
}

export function renderScaleMarkdown(
  s: ScaleResult,
  jsonFile?: string,
  baseline?: { label: string; scale: ScaleResult },
): string {
  const n = s.shiftFirstMs.length;
  return [
    `| build | Services | endpoints | process start → ready | CPU time to ready | RSS at ready | RSS after | peak RSS | V8 heap used at ready |`,
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|',
    scaleRow('this build', s),
    ...(baseline ? [scaleRow(baseline.label, baseline.scale)] : []),
    '',
    scaleVerdict(s),
    '',
    `1-min load average ${s.loadAverage.map((l) => l.toFixed(1)).join(' → ')} during this build's run` +
      `${baseline ? ` (the baseline's: ${baseline.scale.loadAverage.map((l) => l.toFixed(1)).join(' → ')})` : ''}.`,
    '',
    `EndpointSlice change → traffic on the new endpoint (${n} changes, 4 keep-alive clients): first request on it ` +
      `after ${ms(median(s.shiftFirstMs))} ms (median; max ${ms(Math.max(...s.shiftFirstMs))} ms), last request on the old one ` +
      `${ms(median(s.shiftAllMs))} ms after the change (median; max ${ms(Math.max(...s.shiftAllMs))} ms).`,
    '',
    `Reproduce: \`${REPRODUCE}\` (\`BENCH_SCALE=0\` skips this part; \`BENCH_SCALE_SERVICES\`, \`BENCH_SCALE_ENDPOINTS\` set the size)` +
      `${jsonFile ? `; raw numbers: \`${jsonFile}\`` : ''}.`,
  ].join('\n');
}

export function renderPodCheckMarkdown(rows: readonly PodCheckRow[], jsonFile?: string): string {
  return [
    '| endpoints per Service | first request | Pod reads | first request, Pods already confirmed | later requests |',
    '|--:|--:|--:|--:|--:|',
    ...rows.map(
      (r) =>
        `| ${int(r.endpoints)} | ${ms(r.firstMs)} ms | ${r.podReadsFirst.toFixed(0)} | ` +
        `${ms(r.twinMs)} ms | ${ms(r.laterMs)} ms |`,
    ),
    '',
    `Medians over Services of each size; every request opens a new upstream connection (the backend closes it), so ` +
      `the columns differ only by the gateway's own work. Reproduce: \`${REPRODUCE}\` (\`BENCH_PODCHECK=0\` skips this part)` +
      `${jsonFile ? `; raw numbers: \`${jsonFile}\`` : ''}.`,
  ].join('\n');
}

export function renderPortalMarkdown(p: PortalResult, jsonFile?: string): string {
  return [
    '| Services | ports | namespaces | reviews per page (at most) | first page, fresh process (gateway CPU) | page, every review sent anew (gateway CPU) | same page again (cached) |',
    '|--:|--:|--:|--:|--:|--:|--:|',
    `| ${int(p.services)} | ${int(p.ports)} | ${int(p.namespaces)} | ${p.reviews} | ${p.firstMs.toFixed(0)} ms (${p.firstCpuMs.toFixed(0)} ms) | ` +
      `${p.warmMs.toFixed(0)} ms (${p.warmCpuMs.toFixed(0)} ms) | ${ms(p.cachedMs)} ms (${p.cachedReviews} reviews) |`,
    '',
    `A caller with no grants (the worst case); ${int(p.unchecked)} Services were left unchecked by the budget and the ` +
      `page says so. Reproduce: \`${REPRODUCE}\` (\`BENCH_PORTAL=0\` skips this part)${jsonFile ? `; raw numbers: \`${jsonFile}\`` : ''}.`,
  ].join('\n');
}

export function renderTunnelMarkdown(
  t: TunnelResult,
  jsonFile?: string,
  baseline?: { label: string; tunnel: TunnelResult },
): string {
  const row = (name: string, d: TunnelDirection) =>
    `| ${name} | ${d.directMBps.toFixed(0)} MB/s | ${d.tunnelMBps.toFixed(0)} MB/s | ${d.ratio.toFixed(2)}× | ` +
    `${d.bareRelaysMBps.toFixed(0)} MB/s | ${(d.tunnelMBps / d.bareRelaysMBps).toFixed(2)}× | ` +
    `${d.nativeRelaysMBps === undefined ? '–' : `${d.nativeRelaysMBps.toFixed(0)} MB/s (${(d.nativeRelaysMBps / d.directMBps).toFixed(2)}×)`} | ` +
    `${d.gatewayCpuMsPerMB.toFixed(2)} ms | ${d.clientCpuMsPerMB.toFixed(2)} ms |`;
  const load = (r: TunnelResult) => r.loadAverage.map((l) => l.toFixed(1)).join(' → ');
  return [
    `Measured ${new Date().toISOString()}, 2 CPUs shared with other work: 1-min load average ` +
      `${load(t)}${baseline ? ` (the baseline's run: ${load(baseline.tunnel)})` : ''}; ` +
      `${int(t.bytes / 1e6)} MB per stream, median of ${t.rounds} rounds.`,
    '',
    '| stream | direct on loopback | through the tunnel | tunnel ÷ direct | two bare Node relays | tunnel ÷ bare relays | two socat relays (÷ direct) | gateway CPU per MB | `connect` CPU per MB |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|',
    row('up (client → backend)', t.up),
    row('down (backend → client)', t.down),
    ...(baseline
      ? [
          row(`up, ${baseline.label}`, baseline.tunnel.up),
          row(`down, ${baseline.label}`, baseline.tunnel.down),
        ]
      : []),
    '',
    `Reproduce: \`${REPRODUCE}\` (\`BENCH_TUNNEL=0\` skips this part, \`BENCH_TUNNEL_MB\` sets the size)` +
      `${jsonFile ? `; raw numbers: \`${jsonFile}\`` : ''}.`,
  ].join('\n');
}

/** Replaces a generated block of the document (or appends one), keeping the prose around it. */
export function updateDoc(docFile: string, markdown: string, name = 'results'): void {
  const [begin, end] = [marker(name, 'begin'), marker(name, 'end')];
  const block = `${begin}\n${markdown}\n${end}`;
  const current = existsSync(docFile) ? readFileSync(docFile, 'utf8') : '';
  const start = current.indexOf(begin);
  const stop = current.indexOf(end);
  const next =
    start >= 0 && stop > start
      ? current.slice(0, start) + block + current.slice(stop + end.length)
      : `${current}\n${block}\n`;
  writeFileSync(docFile, next);
}
