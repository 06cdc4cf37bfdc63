/**
 * The benchmark: a 1 KiB nginx backend, the contestants in front of it, wrk
 * driving each in interleaved rounds (so drift in the machine hits everyone
 * alike), and each contestant's CPU time read from /proc around every run.
 *
 * Cores: wrk and the backend share core 0; the contestant under load has core
 * 1 to itself (without two cores or taskset, nothing is pinned).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, release, tmpdir } from 'node:os';
import path from 'node:path';
import type { BenchContext, Contestant, Running } from './lib/contestant.js';
import type { PodCheckRow } from './pod-check.js';
import type { PortalResult } from './portal.js';
import type { TunnelResult } from './tunnel.js';
import type { ScaleResult } from './scale.js';
import { startNginx, type Nginx } from './lib/nginx.js';
import { canPin, cpuSeconds, hasCommand, processTree } from './lib/proc.js';
import { runWrk, type WrkResult } from './lib/wrk.js';

export interface BenchOptions {
  contestants: readonly Contestant[];
  /** Length of each wrk run. */
  seconds: number;
  /** One unmeasured run per contestant first (JIT, connection pools). */
  warmupSeconds: number;
  rounds: number;
  /** Connections of the throughput run; the latency run uses 1. */
  connections: number;
  log?: (line: string) => void;
}

export interface Sample extends WrkResult {
  contestant: string;
  round: number;
  connections: number;
  /** CPU seconds the contestant used during the run. */
  cpu: number;
}

export interface Summary {
  name: string;
  description: string;
  /** Median over rounds, at `connections`. */
  rps: number;
  /** All throughput-run requests over all their CPU seconds. */
  reqPerCpuSecond: number;
  /** CPU seconds per wall second under load (1 = one core busy). */
  cores: number;
  /** Medians of the 1-connection runs, ms. */
  p50: number;
  p99: number;
  /** Median p99 of the throughput runs, ms. */
  p99Loaded: number;
  errors: number;
  /** rps / the reference's rps, when that reference ran. */
  vsDirect?: number;
  vsNginx?: number;
  vsBareNode?: number;
  /** req per CPU-second / bare Node's (the issue's P1 ratios). */
  cpuVsBareNode?: number;
  /** req per CPU-second / the baseline build's, when one ran (`--baseline`). */
  vsBaseline?: number;
}

/** The commit a `--baseline` run compared with, and the row its contestant mirrors. */
export interface BaselineInfo {
  ref: string;
  commit: string;
  as: string;
}

export interface BenchResult {
  startedAt: string;
  environment: {
    node: string;
    nginx: string;
    wrk: string;
    cpus: number;
    kernel: string;
    pinned: boolean;
    loadAverage: number[];
  };
  options: Omit<BenchOptions, 'contestants' | 'log'> & { contestants: string[] };
  samples: Sample[];
  summary: Summary[];
  /** Contestants that did not start (the others still ran). */
  failed: { name: string; error: string }[];
  /** The large-cluster run (bench/scale.ts), when it ran. */
  scale?: ScaleResult;
  /** What the endpoint-belongs-to-its-Pod check costs (bench/pod-check.ts), when it ran. */
  podCheck?: PodCheckRow[];
  /** One portal page on a large cluster (bench/portal.ts), when it ran. */
  portal?: PortalResult;
  /** Set when a baseline build ran as the contestant `baseline`. */
  baseline?: BaselineInfo;
  /** The large-cluster run of the baseline build, when both ran. */
  scaleBaseline?: ScaleResult;
  /** A bulk stream through a TCP tunnel against the same stream direct (bench/tunnel.ts), when it ran. */
  tunnel?: TunnelResult;
  /** The same stream through the --baseline build, run just before this build's. */
  tunnelBaseline?: TunnelResult;
}

export class MissingToolError extends Error {
  constructor(readonly tools: string[]) {
    super(`benchmark needs ${tools.join(' and ')} on PATH`);
    this.name = 'MissingToolError';
  }
}

export function missingTools(): string[] {
  return ['nginx', 'wrk'].filter((t) => !hasCommand(t));
}

const WRK_CORE = 0;
const CONTESTANT_CORE = 1;

function versionOf(command: string, args: string[], pattern: RegExp): string {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  return pattern.exec(`${r.stdout}${r.stderr}`)?.[1] ?? 'unknown';
}

/** The median (of an even count, the mean of the middle two); NaN of none, which the report shows as a dash. */
export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

interface Entry {
  contestant: Contestant;
  running: Running;
  pids: number[];
}

async function measure(entry: Entry, round: number, connections: number, seconds: number): Promise<Sample> {
  const before = cpuSeconds(entry.pids);
  const result = await runWrk({
    url: entry.running.url,
    headers: entry.running.headers,
    connections,
    seconds,
    core: WRK_CORE,
  });
  const cpu = cpuSeconds(entry.pids) - before;
  return { ...result, contestant: entry.contestant.name, round, connections, cpu };
}

export function summarize(
  contestants: readonly Contestant[],
  samples: readonly Sample[],
  connections: number,
): Summary[] {
  const summaries = contestants.map((c): Summary => {
    const loaded = samples.filter((s) => s.contestant === c.name && s.connections === connections);
    const single = samples.filter((s) => s.contestant === c.name && s.connections === 1);
    const cpu = loaded.reduce((sum, s) => sum + s.cpu, 0);
    const requests = loaded.reduce((sum, s) => sum + s.requests, 0);
    const wall = loaded.reduce((sum, s) => sum + s.seconds, 0);
    return {
      name: c.name,
      description: c.description,
      rps: median(loaded.map((s) => s.rps)),
      reqPerCpuSecond: cpu > 0 ? requests / cpu : 0,
      cores: wall > 0 ? cpu / wall : 0,
      p50: median(single.map((s) => s.p50)),
      p99: median(single.map((s) => s.p99)),
      p99Loaded: median(loaded.map((s) => s.p99)),
      errors: [...loaded, ...single].reduce((sum, s) => sum + s.errors, 0),
    };
  });
  const rpsOf = (name: string) => summaries.find((s) => s.name === name)?.rps;
  const cpuOf = (name: string) => summaries.find((s) => s.name === name)?.reqPerCpuSecond;
  const [bareCpu, baseline] = [cpuOf('bare-node'), cpuOf('baseline')];
  for (const s of summaries) {
    const [d, n, b] = [rpsOf('direct'), rpsOf('nginx'), rpsOf('bare-node')];
    if (d) s.vsDirect = s.rps / d;
    if (n) s.vsNginx = s.rps / n;
    if (b) s.vsBareNode = s.rps / b;
    if (bareCpu) s.cpuVsBareNode = s.reqPerCpuSecond / bareCpu;
    if (baseline) s.vsBaseline = s.reqPerCpuSecond / baseline;
  }
  return summaries;
}

export async function runBench(options: BenchOptions): Promise<BenchResult> {
  const missing = missingTools();
  if (missing.length > 0) throw new MissingToolError(missing);
  const log = options.log ?? (() => {});
  const startedAt = new Date().toISOString();
  // Other work on the machine skews req/s (not req per CPU-second): the 1-minute load average shows it.
  const loadAverage = [loadavg()[0]];
  const dir = mkdtempSync(path.join(tmpdir(), 'kb-bench-'));
  const entries: Entry[] = [];
  let backend: Nginx | undefined;
  const samples: Sample[] = [];
  const failed: BenchResult['failed'] = [];
  try {
    backend = await startNginx({ core: WRK_CORE });
    const ctx: BenchContext = { backendPort: backend.port, dir, core: canPin ? CONTESTANT_CORE : undefined };
    for (const contestant of options.contestants) {
      log(`starting ${contestant.name}`);
      try {
        const running = await contestant.start(ctx);
        entries.push({ contestant, running, pids: processTree(running.pid) });
      } catch (err) {
        const error = (err as Error).message.split('\n')[0].replace(/:$/, '');
        log(`${contestant.name} did not start: ${(err as Error).message}`);
        failed.push({ name: contestant.name, error });
      }
    }
    if (options.warmupSeconds > 0) {
      for (const entry of entries) await measure(entry, 0, options.connections, options.warmupSeconds);
    }
    for (let round = 1; round <= options.rounds; round++) {
      // Rotate the order so no contestant always runs first (or right after the same neighbour).
      const order = entries.map((_, i) => entries[(i + round - 1) % entries.length]);
      for (const entry of order) {
        for (const connections of [options.connections, 1]) {
          const sample = await measure(entry, round, connections, options.seconds);
          samples.push(sample);
          log(
            `round ${round} ${entry.contestant.name} c${connections}: ${Math.round(sample.rps)} req/s, ` +
              `p99 ${sample.p99.toFixed(2)} ms, cpu ${sample.cpu.toFixed(2)} s${sample.errors ? `, ${sample.errors} errors` : ''}`,
          );
        }
      }
    }
    loadAverage.push(loadavg()[0]);
  } finally {
    await Promise.allSettled(entries.map((e) => e.running.stop()));
    await backend?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    startedAt,
    environment: {
      node: process.version,
      nginx: versionOf('nginx', ['-v'], /nginx\/(\S+)/),
      wrk: versionOf('wrk', ['-v'], /wrk (\S+)/),
      cpus: availableParallelism(),
      kernel: release(),
      pinned: canPin,
      loadAverage,
    },
    options: {
      seconds: options.seconds,
      warmupSeconds: options.warmupSeconds,
      rounds: options.rounds,
      connections: options.connections,
      contestants: options.contestants.map((c) => c.name),
    },
    samples,
    summary: summarize(
      entries.map((e) => e.contestant),
      samples,
      options.connections,
    ),
    failed,
  };
}
