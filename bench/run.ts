/**
 * `npm run bench`: every contestant, results to bench/results/<time>.json and
 * the table into docs/performance.md. Environment:
 *   BENCH_SECONDS (5)  length of each wrk run      BENCH_ROUNDS (3)  interleaved rounds
 *   BENCH_WARMUP (2)   warm-up seconds             BENCH_CONNECTIONS (32)
 *   BENCH_CONTESTANTS  comma list (default all)    BENCH_DOCS=0  leave docs/performance.md alone
 *   BENCH_SCALE=0      skip the large-cluster run  BENCH_SCALE_SERVICES (10000)  BENCH_SCALE_ENDPOINTS (5 per Service)
 *   BENCH_PODCHECK=0   skip the Pod-check cost     BENCH_PORTAL=0  skip the portal page (1,000 Services × 2 ports)
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkBudgets, renderBudgets } from './budgets.js';
import { ALL } from './contestants.js';
import { runBench } from './harness.js';
import { runPodCheck } from './pod-check.js';
import { runPortal } from './portal.js';
import {
  renderMarkdown,
  renderPodCheckMarkdown,
  renderPortalMarkdown,
  renderScaleMarkdown,
  updateDoc,
  writeJSON,
} from './report.js';
import { runScale } from './scale.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const num = (name: string, fallback: number) => {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, not "${v}"`);
  return n;
};

const wanted = process.env.BENCH_CONTESTANTS?.split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const contestants = wanted ? ALL.filter((c) => wanted.includes(c.name)) : ALL;
if (wanted && contestants.length !== wanted.length) {
  throw new Error(`unknown contestant in BENCH_CONTESTANTS; known: ${ALL.map((c) => c.name).join(', ')}`);
}

const result = await runBench({
  contestants,
  seconds: num('BENCH_SECONDS', 5),
  warmupSeconds: num('BENCH_WARMUP', 2),
  rounds: num('BENCH_ROUNDS', 3),
  connections: num('BENCH_CONNECTIONS', 32),
  log: (line) => process.stderr.write(`${line}\n`),
});
if (process.env.BENCH_SCALE !== '0') {
  result.scale = await runScale({
    services: num('BENCH_SCALE_SERVICES', 10_000),
    endpointsPerService: num('BENCH_SCALE_ENDPOINTS', 5),
    shifts: 7,
    log: (line) => process.stderr.write(`${line}\n`),
  });
}
const log = (line: string) => process.stderr.write(`${line}\n`);
if (process.env.BENCH_PODCHECK !== '0') {
  result.podCheck = await runPodCheck({ sizes: [1, 10, 100], services: 10, later: 20, log });
}
if (process.env.BENCH_PORTAL !== '0')
  result.portal = await runPortal({ services: 1000, namespaces: 50, log });
const json = writeJSON(result, path.join(ROOT, 'bench/results'));
const markdown = renderMarkdown(result, path.relative(ROOT, json));
const doc = path.join(ROOT, 'docs/performance.md');
if (process.env.BENCH_DOCS !== '0') updateDoc(doc, markdown);
process.stdout.write(`${markdown}\n`);
/** Writes a generated block into docs/performance.md (unless BENCH_DOCS=0) and prints it. */
function publish(markdown: string, block: string): void {
  if (process.env.BENCH_DOCS !== '0') updateDoc(doc, markdown, block);
  process.stdout.write(`\n${markdown}\n`);
}
const relative = path.relative(ROOT, json);
if (result.podCheck) publish(renderPodCheckMarkdown(result.podCheck, relative), 'pod-check');
if (result.portal) publish(renderPortalMarkdown(result.portal, relative), 'portal');
if (result.scale) publish(renderScaleMarkdown(result.scale, relative), 'scale');
process.stdout.write(`\n${renderBudgets(checkBudgets(result))}\n`);
