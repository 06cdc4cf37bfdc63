/**
 * `npm run bench`: every contestant, results to bench/results/<time>.json and
 * the tables into docs/performance.md.
 *
 *   npm run bench -- --baseline <git-ref> [--baseline-as <row>]
 *     builds that commit (bench/lib/build.ts) and runs it as one more contestant,
 *     `baseline`, in the shape of <row> (default kube-bastion-jwt), interleaved
 *     with the others; the report gives this build's ratio against it, and the
 *     large-cluster run is made for both builds.
 *
 * Environment:
 *   BENCH_SECONDS (2)  length of each wrk run      BENCH_ROUNDS (12) interleaved rounds
 *   BENCH_WARMUP (10)  warm-up seconds             BENCH_CONNECTIONS (32)
 *   BENCH_CONTESTANTS  comma list (default all)    BENCH_DOCS=0  leave docs/performance.md alone
 *   BENCH_SCALE=0      skip the large-cluster run  BENCH_SCALE_SERVICES (10000)  BENCH_SCALE_ENDPOINTS (5 per Service)
 *   BENCH_PODCHECK=0   skip the Pod-check cost     BENCH_PORTAL=0  skip the portal page (1,000 Services × 2 ports)
 *   BENCH_BASELINE     same as --baseline
 *   BENCH_CONTESTANTS= (empty) no wrk rows: only the large cluster, Pod-check and portal parts
 *   BENCH_TUNNEL=0     skip the TCP tunnel stream  BENCH_TUNNEL_MB (256)  bytes per tunnel stream, in MB
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { checkBudgets, renderBudgets } from './budgets.js';
import { ALL, baselineContestant } from './contestants.js';
import { runBench } from './harness.js';
import { baselineCLI, type Baseline } from './lib/build.js';
import { runPodCheck } from './pod-check.js';
import { runPortal } from './portal.js';
import {
  renderMarkdown,
  renderPodCheckMarkdown,
  renderPortalMarkdown,
  renderScaleMarkdown,
  renderTunnelMarkdown,
  updateDoc,
  writeJSON,
} from './report.js';
import { runScale } from './scale.js';
import { runTunnel } from './tunnel.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const num = (name: string, fallback: number) => {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, not "${v}"`);
  return n;
};
const log = (line: string) => process.stderr.write(`${line}\n`);

const { values: args } = parseArgs({
  options: { baseline: { type: 'string' }, 'baseline-as': { type: 'string' } },
});
const baselineRef = args.baseline ?? (process.env.BENCH_BASELINE || undefined);
const baselineAs = args['baseline-as'] ?? 'kube-bastion-jwt';
let baseline: Baseline | undefined;
if (baselineRef) {
  log(`building the baseline ${baselineRef}`);
  baseline = baselineCLI(baselineRef);
  log(`baseline ${baselineRef} = ${baseline.commit}: ${baseline.cli}`);
}

const wanted = process.env.BENCH_CONTESTANTS?.split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const selected = wanted ? ALL.filter((c) => wanted.includes(c.name)) : [...ALL];
if (wanted && selected.length !== wanted.length) {
  throw new Error(`unknown contestant in BENCH_CONTESTANTS; known: ${ALL.map((c) => c.name).join(', ')}`);
}
// With no rows asked for, the baseline is measured only in the large cluster.
const contestants =
  baseline && selected.length > 0 ? [...selected, baselineContestant(baseline, baselineAs)] : selected;

const result = await runBench({
  contestants,
  seconds: num('BENCH_SECONDS', 2),
  warmupSeconds: num('BENCH_WARMUP', 10),
  rounds: num('BENCH_ROUNDS', 12),
  connections: num('BENCH_CONNECTIONS', 32),
  log,
});
if (baseline) result.baseline = { ref: baseline.ref, commit: baseline.commit, as: baselineAs };
if (process.env.BENCH_SCALE !== '0') {
  const scale = (cli?: string, nodeArgs?: string[]) =>
    runScale({
      nodeArgs,
      services: num('BENCH_SCALE_SERVICES', 10_000),
      endpointsPerService: num('BENCH_SCALE_ENDPOINTS', 5),
      shifts: 7,
      cli,
      log,
    });
  // The baseline first: whatever drift the machine has then works against this build, not for it.
  if (baseline) result.scaleBaseline = await scale(baseline.cli, baseline.nodeFlags);
  result.scale = await scale();
}
if (process.env.BENCH_PODCHECK !== '0') {
  result.podCheck = await runPodCheck({ sizes: [1, 10, 100], services: 10, later: 20, log });
}
if (process.env.BENCH_PORTAL !== '0')
  result.portal = await runPortal({ services: 1000, namespaces: 50, log });
if (process.env.BENCH_TUNNEL !== '0') {
  const tunnel = (cli?: string, nodeArgs?: string[]) =>
    runTunnel({ bytes: num('BENCH_TUNNEL_MB', 256) * 1e6, rounds: 3, cli, nodeArgs, log });
  // The baseline first, as for the large cluster.
  if (baseline) result.tunnelBaseline = await tunnel(baseline.cli, baseline.nodeFlags);
  result.tunnel = await tunnel();
}
const json = writeJSON(result, path.join(ROOT, 'bench/results'));
const doc = path.join(ROOT, 'docs/performance.md');
const relative = path.relative(ROOT, json);
/** Writes a generated block into docs/performance.md (unless BENCH_DOCS=0) and prints it. */
function publish(markdown: string, block: string): void {
  if (process.env.BENCH_DOCS !== '0') updateDoc(doc, markdown, block);
  process.stdout.write(`\n${markdown}\n`);
}
// BENCH_CONTESTANTS= (empty) runs only the other parts: the results table is left as it was.
if (result.summary.length > 0) publish(renderMarkdown(result, relative), 'results');
if (result.podCheck) publish(renderPodCheckMarkdown(result.podCheck, relative), 'pod-check');
if (result.portal) publish(renderPortalMarkdown(result.portal, relative), 'portal');
if (result.tunnel) {
  const base = result.tunnelBaseline && { label: `baseline ${baseline!.ref}`, tunnel: result.tunnelBaseline };
  publish(renderTunnelMarkdown(result.tunnel, relative, base), 'tunnel');
}
if (result.scale) {
  const base = result.scaleBaseline && { label: `baseline ${baseline!.ref}`, scale: result.scaleBaseline };
  publish(renderScaleMarkdown(result.scale, relative, base), 'scale');
}
process.stdout.write(`\n${renderBudgets(checkBudgets(result))}\n`);
