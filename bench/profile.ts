/**
 * Where a contestant's CPU time goes: starts the backend and each contestant
 * named under `node --cpu-prof`, loads it with wrk at 32 connections, and
 * prints the share of its busy time in gateway code, libraries, Node's
 * JavaScript, native code, V8 and GC (bench/lib/cpu-profile.ts), the kernel's
 * share of its CPU time (/proc/<pid>/stat, stime against utime), and the
 * files and functions with the most self time.
 *
 *   node --import tsx bench/profile.ts [CONTESTANTS=kube-bastion-jwt,bare-node] [SECONDS=10]
 *
 * The table goes into docs/performance.md (block `profile`) unless
 * BENCH_DOCS=0; BENCH_PROFILE_OUT=dir keeps the .cpuprofile files (open them
 * in Chrome DevTools → Performance).
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ALL } from './contestants.js';
import {
  attribute,
  CATEGORIES,
  CATEGORY_LABEL,
  selfTime,
  type Attribution,
  type Profile,
} from './lib/cpu-profile.js';
import { startNginx } from './lib/nginx.js';
import { canPin, cpuTimes } from './lib/proc.js';
import { runWrk, type WrkResult } from './lib/wrk.js';
import { updateDoc } from './report.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const [names = 'kube-bastion-jwt,bare-node', secondsArg = '10'] = process.argv.slice(2);
const seconds = Number(secondsArg);
const contestants = names.split(',').map((name) => {
  const c = ALL.find((x) => x.name === name);
  if (!c) throw new Error(`unknown contestant ${name}; known: ${ALL.map((x) => x.name).join(', ')}`);
  return c;
});

interface Run {
  name: string;
  wrk: WrkResult;
  user: number;
  system: number;
  attribution: Attribution;
  profile: Profile;
}

const shortFile = (url: string) =>
  url
    .replace(/^file:\/\//, '')
    .replace(/^.*\/node_modules\/(?!\.cache)/, '')
    .replace(/^.*\/node_modules\/\.cache\/[^/]+\//, 'dist/')
    .replace(`${ROOT}/`, '') || '(native)';

/** tsx's loader thread writes a profile too: the main thread's is the busiest one. */
function busiest(dir: string): Profile {
  const idleShare = (p: Profile) => {
    const t = selfTime(p, (n) => (n.callFrame.functionName === '(idle)' ? 'idle' : 'busy'));
    return (t.get('idle') ?? 0) / ((t.get('idle') ?? 0) + (t.get('busy') ?? 1));
  };
  const profiles = readdirSync(dir).map(
    (f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Profile,
  );
  const profile = profiles.sort((a, b) => idleShare(a) - idleShare(b))[0];
  if (!profile) throw new Error('no profile written (did the contestant exit cleanly?)');
  return profile;
}

async function profileOne(name: string, backendPort: number): Promise<Run> {
  const contestant = contestants.find((c) => c.name === name)!;
  const profDir = mkdtempSync(path.join(tmpdir(), 'kb-prof-'));
  const dir = mkdtempSync(path.join(tmpdir(), 'kb-bench-'));
  process.env.BENCH_NODE_ARGS = `--cpu-prof --cpu-prof-dir=${profDir}`;
  const running = await contestant.start({ backendPort, dir, core: canPin ? 1 : undefined });
  delete process.env.BENCH_NODE_ARGS;
  let wrk: WrkResult;
  let times: { user: number; system: number };
  try {
    const before = cpuTimes([running.pid]);
    wrk = await runWrk({ url: running.url, headers: running.headers, connections: 32, seconds, core: 0 });
    const after = cpuTimes([running.pid]);
    times = { user: after.user - before.user, system: after.system - before.system };
  } finally {
    await running.stop();
  }
  const profile = busiest(profDir);
  if (process.env.BENCH_PROFILE_OUT) {
    mkdirSync(process.env.BENCH_PROFILE_OUT, { recursive: true });
    for (const f of readdirSync(profDir))
      copyFileSync(path.join(profDir, f), path.join(process.env.BENCH_PROFILE_OUT, `${name}-${f}`));
  }
  rmSync(profDir, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
  const window = loadWindow(profile);
  return { name, wrk, ...times, attribution: attribute(profile, window), profile };
}

/** The profile ends when the process exits: the load is its last `seconds`, less half a second at the start and the shutdown. */
function loadWindow(profile: Profile): { from: number; to: number } {
  const span = profile.endTime - profile.startTime;
  return { from: span - (seconds - 0.5) * 1e6, to: span - 3e5 };
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

function renderMarkdown(runs: Run[], load: number[]): string {
  const header = `| where the busy time goes | ${runs.map((r) => r.name).join(' | ')} |`;
  const rows = CATEGORIES.filter(
    (c) => c !== 'idle' && runs.some((r) => r.attribution.shares[c] > 0.0005),
  ).map((c) => `| ${CATEGORY_LABEL[c]} | ${runs.map((r) => pct(r.attribution.shares[c])).join(' | ')} |`);
  const libs = runs.map(
    (r) =>
      r.attribution.libraries
        .filter(([, share]) => share >= 0.001)
        .slice(0, 4)
        .map(([pkg, share]) => `${pkg} ${pct(share)}`)
        .join(', ') || 'none',
  );
  return [
    `Measured ${new Date().toISOString()} — Node ${process.version}, ${seconds} s at 32 connections per contestant, ` +
      `${canPin ? 'wrk + backend on core 0, contestant on core 1' : 'not pinned'}; 1-min load average ${load.map((l) => l.toFixed(1)).join(' → ')}.`,
    '',
    header,
    `|---|${runs.map(() => '--:|').join('')}`,
    ...rows,
    `| **kernel share of the process's CPU time** (stime / (utime + stime)) | ${runs.map((r) => pct(r.system / (r.user + r.system || 1))).join(' | ')} |`,
    `| CPU seconds (user + kernel), req/s | ${runs.map((r) => `${(r.user + r.system).toFixed(1)} s, ${Math.round(r.wrk.rps).toLocaleString('en-US')}`).join(' | ')} |`,
    '',
    `Shares are of the sampled busy time (idle left out); native frames include the kernel time of the syscalls they make. ` +
      `Largest libraries: ${runs.map((r, i) => `${r.name}: ${libs[i]}`).join('; ')}.`,
    '',
    `Reproduce: \`node --import tsx bench/profile.ts ${runs.map((r) => r.name).join(',')} ${seconds}\`.`,
  ].join('\n');
}

function printTops(run: Run): void {
  const window = loadWindow(run.profile);
  const top = (key: (n: Profile['nodes'][number]) => string, n: number) => {
    const totals = selfTime(run.profile, key, window);
    totals.delete('(idle)');
    const all = [...totals.values()].reduce((a, b) => a + b, 0);
    for (const [k, v] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, n))
      process.stdout.write(`${pct(v / all).padStart(8)}  ${k}\n`);
  };
  process.stdout.write(
    `\n${run.name}: ${Math.round(run.wrk.rps)} req/s, p50 ${run.wrk.p50} ms, errors ${run.wrk.errors}\nself time by file:\n`,
  );
  top((n) => (n.callFrame.functionName === '(idle)' ? '(idle)' : shortFile(n.callFrame.url)), 20);
  process.stdout.write('self time by function:\n');
  top(
    (n) =>
      `${n.callFrame.functionName || '(anonymous)'} ${shortFile(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`,
    30,
  );
}

const load = [loadavg()[0]];
const backend = await startNginx({ core: canPin ? 0 : undefined });
const runs: Run[] = [];
try {
  for (const c of contestants) runs.push(await profileOne(c.name, backend.port));
} finally {
  await backend.stop();
}
load.push(loadavg()[0]);
runs.forEach(printTops);
const markdown = renderMarkdown(runs, load);
process.stdout.write(`\n${markdown}\n`);
if (process.env.BENCH_DOCS !== '0') updateDoc(path.join(ROOT, 'docs/performance.md'), markdown, 'profile');
