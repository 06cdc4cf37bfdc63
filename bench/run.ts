/**
 * `npm run bench`: every contestant, results to bench/results/<time>.json and
 * the table into docs/performance.md. Environment:
 *   BENCH_SECONDS (5)  length of each wrk run      BENCH_ROUNDS (3)  interleaved rounds
 *   BENCH_WARMUP (2)   warm-up seconds             BENCH_CONNECTIONS (32)
 *   BENCH_CONTESTANTS  comma list (default all)    BENCH_DOCS=0  leave docs/performance.md alone
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ALL } from './contestants.js';
import { runBench } from './harness.js';
import { renderMarkdown, updateDoc, writeJSON } from './report.js';

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
const json = writeJSON(result, path.join(ROOT, 'bench/results'));
const markdown = renderMarkdown(result, path.relative(ROOT, json));
if (process.env.BENCH_DOCS !== '0') updateDoc(path.join(ROOT, 'docs/performance.md'), markdown);
process.stdout.write(`${markdown}\n`);
