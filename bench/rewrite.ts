/**
 * What rewriting a proxied HTML body costs, per shape of markup and body
 * size: CPU milliseconds per MB at 1, 4 and 16 MB. Linear cost shows as a
 * flat ms/MB across a row. The body goes through the same Transform the
 * gateway uses (createBodyRewriter with the default limits), in 64 KiB
 * chunks, as a socket would deliver it.
 *
 *   node --import tsx bench/rewrite.ts            # table to stdout and docs/performance.md
 *   REWRITE_SIZES=1,4 BENCH_DOCS=0 node --import tsx bench/rewrite.ts
 */
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { createBodyRewriter } from '../src/proxy/rewrite/index.js';
import type { RewriteLimitReason } from '../src/proxy/rewrite/limits.js';
import { updateDoc } from './report.js';

const MB = 1024 * 1024;
const ctx = {
  prefix: '/api/v1/namespaces/team-a/services/web:http/proxy',
  upstreamHost: '10.0.0.7:8080',
  requestHost: 'bastion.example.com',
};

interface Shape {
  name: string;
  coding?: 'gzip';
  body(bytes: number): Buffer;
}

const fill = (unit: string, bytes: number) => unit.repeat(Math.max(1, Math.floor(bytes / unit.length)));
const HEAD = '<!doctype html><a href="/first">first</a>';

export const SHAPES: Shape[] = [
  {
    name: 'a page of links (every row rewritten)',
    body: (n) => Buffer.from(HEAD + fill('<tr><td><a href="/d">d</a></td></tr>\n', n)),
  },
  { name: 'text without whitespace', body: (n) => Buffer.from(`${HEAD}<p>${fill('x', n)}`) },
  { name: 'one unclosed attribute', body: (n) => Buffer.from(`${HEAD}<a title="${fill('x', n)}`) },
  {
    name: 'one unclosed attribute, gzip',
    coding: 'gzip',
    body: (n) => zlib.gzipSync(`${HEAD}<a title="${fill('x', n)}`),
  },
  { name: 'one unclosed comment', body: (n) => Buffer.from(`${HEAD}<!--${fill('x', n)}`) },
  { name: 'nested `<svg>`', body: (n) => Buffer.from(HEAD + fill('<svg>', n)) },
  { name: 'one srcset, 6-byte candidates', body: (n) => Buffer.from(`<img srcset="${fill('/a 1x,', n)}">`) },
];

export interface RewriteRow {
  shape: string;
  /** Per size (MB): CPU ms per MB, and the limit that stopped rewriting, if any. */
  cells: { mb: number; cpuMsPerMB: number; limit?: string }[];
}

async function measure(shape: Shape, mb: number): Promise<{ cpuMs: number; limit?: string }> {
  const body = shape.body(mb * MB);
  const limits = new Set<RewriteLimitReason>();
  const stream = createBodyRewriter(shape.coding, ctx, { onLimit: (r) => limits.add(r) });
  stream.resume();
  // A decompression bomb ends in an error (limit `inflate`): that is its end here.
  const ended = new Promise((resolve) => stream.once('end', resolve).once('error', resolve));
  const start = process.cpuUsage();
  for (let i = 0; i < body.length && !stream.destroyed; i += 65536) {
    if (!stream.write(body.subarray(i, i + 65536))) await Promise.race([once(stream, 'drain'), ended]);
  }
  stream.end();
  await ended;
  const used = process.cpuUsage(start);
  return { cpuMs: (used.user + used.system) / 1000, limit: [...limits].join(', ') || undefined };
}

export async function runRewriteBench(sizesMB: number[], log = (_line: string) => {}): Promise<RewriteRow[]> {
  for (const shape of SHAPES) await measure(shape, 0.25); // warm-up: load and optimize the code paths
  const rows: RewriteRow[] = [];
  for (const shape of SHAPES) {
    const cells: RewriteRow['cells'] = [];
    for (const mb of sizesMB) {
      const { cpuMs, limit } = await measure(shape, mb);
      cells.push({ mb, cpuMsPerMB: cpuMs / mb, limit });
      log(`${shape.name} ${mb} MB: ${cpuMs.toFixed(0)} ms CPU${limit ? ` (${limit} limit)` : ''}`);
    }
    rows.push({ shape: shape.name, cells });
  }
  return rows;
}

export function renderRewriteMarkdown(rows: RewriteRow[], when = new Date().toISOString()): string {
  const sizes = rows[0]?.cells.map((c) => c.mb) ?? [];
  const cell = (c: RewriteRow['cells'][number]) =>
    `${c.cpuMsPerMB.toFixed(1)}${c.limit ? ` (${c.limit})` : ''}`;
  return [
    `Measured ${when} — Node ${process.version}, ${os.cpus().length} CPUs, 1-min load average ` +
      `${os.loadavg()[0].toFixed(1)}; CPU ms per MB of decoded body (in parentheses: the limit that ` +
      'stopped rewriting, after which the rest passed through; `inflate`: the body was cut there).',
    '',
    `| markup | ${sizes.map((s) => `${s} MB`).join(' | ')} |`,
    `|---|${sizes.map(() => '--:').join('|')}|`,
    ...rows.map((r) => `| ${r.shape} | ${r.cells.map(cell).join(' | ')} |`),
    '',
    'Reproduce: `node --import tsx bench/rewrite.ts` (`REWRITE_SIZES=1,4,16`, `BENCH_DOCS=0` leaves this file alone).',
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const sizes = (process.env.REWRITE_SIZES ?? '1,4,16').split(',').map(Number);
  const rows = await runRewriteBench(sizes, (line) => process.stderr.write(`${line}\n`));
  const markdown = renderRewriteMarkdown(rows);
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  if (process.env.BENCH_DOCS !== '0') updateDoc(path.join(root, 'docs/performance.md'), markdown, 'rewrite');
  process.stdout.write(`${markdown}\n`);
}
