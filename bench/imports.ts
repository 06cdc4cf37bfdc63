/**
 * What each dependency costs a process that imports it: RSS and V8 heap after
 * the import (after a full GC), and the import's time, each in a fresh Node
 * process, medians of `IMPORT_RUNS` (3). The first row is an empty process;
 * the last is the whole gateway (the compiled `server/gateway.js` and
 * everything it imports). "Loaded by the gateway" says whether the gateway's
 * module graph imports the package at start (traced with a resolve hook).
 *
 *   node --import tsx bench/imports.ts     (BENCH_DOCS=0 leaves docs/performance.md alone)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gatewayCLI } from './lib/build.js';
import { updateDoc } from './report.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.env.IMPORT_RUNS ?? 3);

/** The runtime dependencies of package.json (read, so a new one is measured too). */
const PACKAGES = Object.keys(
  (
    JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    }
  ).dependencies,
);

interface Cost {
  rssMB: number;
  heapMB: number;
  ms: number;
}

/** One fresh process importing `specifier` (nothing when empty). */
function measureOnce(specifier: string): Cost {
  const script = `
    const t = performance.now();
    if (${JSON.stringify(specifier)}) await import(${JSON.stringify(specifier)});
    const ms = performance.now() - t;
    globalThis.gc();
    const m = process.memoryUsage();
    process.stdout.write(JSON.stringify({ rssMB: m.rss / 2 ** 20, heapMB: m.heapUsed / 2 ** 20, ms }));`;
  const r = spawnSync(
    process.execPath,
    ['--expose-gc', '--no-warnings', '--input-type=module', '-e', script],
    {
      cwd: ROOT,
      encoding: 'utf8',
    },
  );
  if (r.status !== 0) throw new Error(`importing ${specifier} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Cost;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function measure(specifier: string): Cost {
  const runs = Array.from({ length: RUNS }, () => measureOnce(specifier));
  return {
    rssMB: median(runs.map((r) => r.rssMB)),
    heapMB: median(runs.map((r) => r.heapMB)),
    ms: median(runs.map((r) => r.ms)),
  };
}

/** The packages the gateway's module graph imports, seen by a resolve hook. */
function loadedByGateway(entry: string): Set<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'kb-imports-'));
  try {
    writeFileSync(
      path.join(dir, 'hooks.mjs'),
      `export async function resolve(specifier, context, next) {
        const r = await next(specifier, context);
        const m = /\\/node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(r.url);
        if (m && !context.parentURL?.includes('/node_modules/' + m[1] + '/')) process.stderr.write('LOADED ' + m[1] + '\\n');
        return r;
      }`,
    );
    writeFileSync(
      path.join(dir, 'register.mjs'),
      `import { register } from 'node:module'; register(${JSON.stringify(pathToFileURL(path.join(dir, 'hooks.mjs')).href)});`,
    );
    const r = spawnSync(
      process.execPath,
      [
        '--no-warnings',
        '--import',
        pathToFileURL(path.join(dir, 'register.mjs')).href,
        '--input-type=module',
        '-e',
        `await import(${JSON.stringify(entry)});`,
      ],
      { cwd: ROOT, encoding: 'utf8' },
    );
    return new Set([...r.stderr.matchAll(/^LOADED (\S+)$/gm)].map((m) => m[1]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const fmt = (c: Cost, base: Cost) =>
  `${c.rssMB.toFixed(0)} MB (+${(c.rssMB - base.rssMB).toFixed(0)}) | ${c.heapMB.toFixed(1)} MB (+${(c.heapMB - base.heapMB).toFixed(1)}) | ${c.ms.toFixed(0)} ms`;

const load = [loadavg()[0]];
const gateway = pathToFileURL(path.join(path.dirname(gatewayCLI()), 'server/gateway.js')).href;
const loaded = loadedByGateway(gateway);
const base = measure('');
const rows = PACKAGES.map((p) => {
  process.stderr.write(`${p}\n`);
  return `| ${p} | ${loaded.has(p) ? 'yes' : 'no'} | ${fmt(measure(p), base)} |`;
});
const whole = measure(gateway);
load.push(loadavg()[0]);
const markdown = [
  `Measured ${new Date().toISOString()} — Node ${process.version}; medians of ${RUNS} fresh processes each; ` +
    `1-min load average ${load.map((l) => l.toFixed(1)).join(' → ')} (import times stretch with the load; memory does not).`,
  '',
  '| import | loaded by the gateway | RSS after (over an empty process) | V8 heap used after | import time |',
  '|---|---|--:|--:|--:|',
  `| (nothing: an empty process) | | ${base.rssMB.toFixed(0)} MB | ${base.heapMB.toFixed(1)} MB | – |`,
  ...rows,
  `| **the whole gateway** (\`server/gateway.js\`, compiled) | | ${fmt(whole, base)} |`,
  '',
  'Reproduce: `node --import tsx bench/imports.ts` (`IMPORT_RUNS`, default 3).',
].join('\n');
process.stdout.write(`${markdown}\n`);
if (process.env.BENCH_DOCS !== '0') updateDoc(path.join(ROOT, 'docs/performance.md'), markdown, 'imports');
