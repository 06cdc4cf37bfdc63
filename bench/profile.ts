/**
 * Where a contestant's CPU time goes: starts the backend and one contestant
 * under `node --cpu-prof`, loads it with wrk, and prints the functions and
 * files with the most self time.
 *   node --import tsx bench/profile.ts [CONTESTANT=kube-bastion-jwt] [SECONDS=10]
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ALL } from './contestants.js';
import { startNginx } from './lib/nginx.js';
import { canPin } from './lib/proc.js';
import { runWrk } from './lib/wrk.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  endTime: number;
}

const [name = 'kube-bastion-jwt', seconds = '10'] = process.argv.slice(2);
const contestant = ALL.find((c) => c.name === name);
if (!contestant) throw new Error(`unknown contestant ${name}; known: ${ALL.map((c) => c.name).join(', ')}`);

const shortFile = (url: string) =>
  url
    .replace(/^file:\/\//, '')
    .replace(/^.*\/node_modules\//, '')
    .replace(process.cwd() + '/', '') || '(native)';

/** Self time per key, as a share of the samples taken within the last `windowS` seconds but the last 0.3. */
function tally(profile: Profile, key: (n: ProfileNode) => string, windowS = Infinity): [string, number][] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, number>();
  // Sample times are the running sum of the deltas; count back from the end (µs).
  let t = profile.endTime;
  for (let i = profile.samples.length - 1; i >= 0; i--) {
    const delta = profile.timeDeltas[i] ?? 0;
    const age = (profile.endTime - t) / 1e6;
    t -= delta;
    if (age < 0.3) continue;
    if (age > windowS) break;
    const k = key(byId.get(profile.samples[i])!);
    totals.set(k, (totals.get(k) ?? 0) + delta);
  }
  const all = [...totals.values()].reduce((a, b) => a + b, 0);
  return [...totals.entries()].map(([k, v]): [string, number] => [k, v / all]).sort((a, b) => b[1] - a[1]);
}

const profDir = mkdtempSync(path.join(tmpdir(), 'kb-prof-'));
const dir = mkdtempSync(path.join(tmpdir(), 'kb-bench-'));
const backend = await startNginx({ core: canPin ? 0 : undefined });
process.env.BENCH_NODE_ARGS = `--cpu-prof --cpu-prof-dir=${profDir}`;
const running = await contestant.start({ backendPort: backend.port, dir, core: canPin ? 1 : undefined });
delete process.env.BENCH_NODE_ARGS;
try {
  const r = await runWrk({
    url: running.url,
    headers: running.headers,
    connections: 32,
    seconds: Number(seconds),
    core: 0,
  });
  process.stdout.write(`${name}: ${Math.round(r.rps)} req/s, p50 ${r.p50} ms, errors ${r.errors}\n`);
} finally {
  await running.stop();
  await backend.stop();
}
// tsx's loader thread writes a profile too: the main thread's is the busiest one.
const busy = (p: Profile) =>
  1 - (tally(p, (n) => n.callFrame.functionName).find(([k]) => k === '(idle)')?.[1] ?? 0);
const profile = readdirSync(profDir)
  .map((f) => JSON.parse(readFileSync(path.join(profDir, f), 'utf8')) as Profile)
  .sort((a, b) => busy(b) - busy(a))[0];
// BENCH_PROFILE_OUT=file keeps the profile (open it in Chrome DevTools → Performance).
if (process.env.BENCH_PROFILE_OUT && profile)
  writeFileSync(process.env.BENCH_PROFILE_OUT, JSON.stringify(profile));
rmSync(profDir, { recursive: true, force: true });
rmSync(dir, { recursive: true, force: true });
if (!profile) throw new Error('no profile written (did the contestant exit cleanly?)');

const pct = (x: number) => `${(x * 100).toFixed(1).padStart(5)} %`;
process.stdout.write('\nself time by file:\n');
const window = Number(seconds) - 0.5;
for (const [k, v] of tally(profile, (n) => shortFile(n.callFrame.url), window).slice(0, 25))
  process.stdout.write(`${pct(v)}  ${k}\n`);
process.stdout.write('\nself time by function:\n');
for (const [k, v] of tally(
  profile,
  (n) =>
    `${n.callFrame.functionName || '(anonymous)'} ${shortFile(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`,
  window,
).slice(0, 40))
  process.stdout.write(`${pct(v)}  ${k}\n`);
