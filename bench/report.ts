/** The benchmark's outputs: a JSON file per run and the table in docs/performance.md. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { BenchResult } from './harness.js';
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

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => (n < 1 ? n.toFixed(3) : n.toFixed(2));
const ratio = (n: number | undefined) => (n === undefined ? '–' : `${n.toFixed(2)}×`);

export function renderMarkdown(result: BenchResult, jsonFile?: string): string {
  const { environment: env, options: o } = result;
  const rows = result.summary.map(
    (s) =>
      `| ${s.name} | ${int(s.rps)} | ${int(s.reqPerCpuSecond)} | ${s.cores.toFixed(2)} | ${ms(s.p50)} | ${ms(s.p99)} | ${ms(s.p99Loaded)} | ` +
      `${ratio(s.vsDirect)} | ${ratio(s.vsNginx)} | ${ratio(s.vsBareNode)} |${s.errors ? ` ⚠ ${s.errors} errors` : ''}`,
  );
  return [
    `Measured ${result.startedAt} — Node ${env.node}, nginx ${env.nginx}, wrk ${env.wrk}, ${env.cpus} CPUs, Linux ${env.kernel}, ` +
      `${env.pinned ? 'wrk + backend pinned to core 0, contestant to core 1' : 'not pinned'}; ` +
      `${o.rounds} interleaved rounds of ${o.seconds} s per load level after ${o.warmupSeconds} s warm-up; ` +
      `1-min load average ${env.loadAverage.map((l) => l.toFixed(1)).join(' → ')} (before → after).`,
    '',
    `| contestant | req/s (c${o.connections}) | req per CPU-s | CPU cores used | p50 ms (c1) | p99 ms (c1) | p99 ms (c${o.connections}) | vs direct | vs nginx | vs bare Node |`,
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
    ...rows,
    '',
    ...result.summary.map((s) => `- **${s.name}**: ${s.description}`),
    ...result.failed.map((f) => `- **${f.name}** did not start: ${f.error}`),
    '',
    `Reproduce: \`${REPRODUCE}\`${jsonFile ? ` (raw samples of this run: \`${jsonFile}\`)` : ''}.`,
  ].join('\n');
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

export function renderScaleMarkdown(s: ScaleResult, jsonFile?: string): string {
  const n = s.shiftFirstMs.length;
  return [
    `| Services | endpoints | process start → ready | RSS at ready | RSS after | peak RSS | V8 heap used at ready |`,
    '|--:|--:|--:|--:|--:|--:|--:|',
    `| ${int(s.services)} | ${int(s.endpoints)} | ${(s.readyMs / 1000).toFixed(2)} s | ${s.rssReadyMB.toFixed(0)} MB | ` +
      `${s.rssAfterMB.toFixed(0)} MB | ${s.rssPeakMB.toFixed(0)} MB | ${s.heapUsedMB.toFixed(0)} MB |`,
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

export function renderTunnelMarkdown(t: TunnelResult, jsonFile?: string): string {
  const row = (name: string, d: TunnelDirection) =>
    `| ${name} | ${d.directMBps.toFixed(0)} MB/s | ${d.tunnelMBps.toFixed(0)} MB/s | ${d.ratio.toFixed(2)}× | ` +
    `${d.gatewayCpuMsPerMB.toFixed(2)} ms | ${d.clientCpuMsPerMB.toFixed(2)} ms |`;
  return [
    `Measured ${new Date().toISOString()}, 2 CPUs shared with other work: 1-min load average ` +
      `${t.loadAverage.map((l) => l.toFixed(1)).join(' → ')}; ${int(t.bytes / 1e6)} MB per stream, median of ${t.rounds} rounds.`,
    '',
    '| stream | direct on loopback | through the tunnel | tunnel ÷ direct | gateway CPU per MB | `connect` CPU per MB |',
    '|---|--:|--:|--:|--:|--:|',
    row('up (client → backend)', t.up),
    row('down (backend → client)', t.down),
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
