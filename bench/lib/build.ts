/**
 * The gateway as it ships: src/ compiled with the build config (what the
 * Docker image runs), not run through tsx.
 *
 * This tree's build is keyed by its content: `node_modules/.cache/kube-bastion-build-<hash>`,
 * the hash over src/, the tsconfigs and package.json. It goes inside node_modules so that
 * its imports resolve and git ignores it. A directory is complete before it appears (built
 * beside it, then renamed) and never changes after, so the benchmark and every test that
 * runs the compiled gateway share one build per content — also across worktrees that share
 * one node_modules, and across concurrent test files (a lock makes the others wait for the
 * one compiling) — and a changed source file gets a build of its own. Builds of other
 * contents older than a day are removed when a new one is made.
 *
 * A baseline (`--baseline <git-ref>`) is that commit's src/ taken with
 * `git archive` into `node_modules/.cache/kube-bastion-baseline-<commit>`, where
 * its imports resolve to this node_modules (its package.json is not installed:
 * a ref whose dependencies differ from this tree's may not build or run),
 * compiled with this tree's tsc. One directory per commit, reused by later runs,
 * removed a day after it was made. Not in the shared temp dir: a directory
 * there under a name anyone can predict could have been made by another user
 * (and would be run), or by a checkout since removed.
 */
import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { imageNodeFlagsAt } from './image-flags.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BUILD_ROOT = path.join(ROOT, 'node_modules/.cache');
const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc');
const PREFIX = 'kube-bastion-build-';
const BASELINE_PREFIX = 'kube-bastion-baseline-';
/** How long a test waits for another process's compile before compiling on its own. */
const LOCK_WAIT_MS = 180_000;
const DAY_MS = 24 * 3600_000;

export class BuildError extends Error {
  override name = 'BuildError';
}

/**
 * Compiles `project` (a tsconfig) into `outDir` with tsc's own emitter, as `npm run build` does, but
 * without type checking (`--noCheck`: the same files byte for byte, at less than half the CPU; checking
 * is `npm run typecheck`'s job). Type errors never stopped tsc from emitting anyway.
 */
function compile(cwd: string, project: string, outDir: string): void {
  rmSync(outDir, { recursive: true, force: true });
  spawnSync(process.execPath, [TSC, '-p', project, '--outDir', outDir, '--noCheck'], {
    cwd,
    stdio: 'ignore',
  });
  if (!existsSync(path.join(outDir, 'cli.js'))) {
    throw new BuildError(`building the gateway failed (tsc -p ${path.join(cwd, project)})`);
  }
  chmodSync(path.join(outDir, 'cli.js'), 0o755); // as npm does when it links the bin
}

/** The files a build is made of, in a fixed order: src/ and what configures the compile. */
function buildInputs(dir = path.join(ROOT, 'src')): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...buildInputs(full));
    else out.push(full);
  }
  return out;
}

/** A hash of this tree's build inputs: same sources, same build. */
export function sourceHash(): string {
  const h = createHash('sha256');
  for (const file of [
    ...buildInputs(),
    ...['tsconfig.json', 'tsconfig.build.json', 'package.json'].map((f) => path.join(ROOT, f)),
  ]) {
    h.update(path.relative(ROOT, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return h.digest('hex').slice(0, 16);
}

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Removes the builds (`prefix`) of other contents or commits that nobody has made for a day. */
function pruneOldBuilds(keep: string, prefix = PREFIX): void {
  for (const name of readdirSync(BUILD_ROOT)) {
    if (!name.startsWith(prefix) || name === keep) continue;
    const full = path.join(BUILD_ROOT, name);
    try {
      if (Date.now() - statSync(full).mtimeMs > DAY_MS) rmSync(full, { recursive: true, force: true });
    } catch {
      // another process removed it first
    }
  }
}

/**
 * Makes `dir` once: `make(tmp)` fills a directory beside it, which is then renamed into place,
 * so `dir` is complete whenever it exists (`done` names the file that says so). Concurrent
 * callers wait on a lock for the one making it; one that has waited LOCK_WAIT_MS takes the
 * lock over (its holder died mid-build).
 */
function makeOnce(dir: string, done: string, make: (tmp: string) => void): void {
  if (existsSync(path.join(dir, done))) return;
  mkdirSync(path.dirname(dir), { recursive: true });
  const lock = `${dir}.lock`;
  const waitUntil = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      mkdirSync(lock);
      break; // ours to make
    } catch {
      if (existsSync(path.join(dir, done))) return; // made by the holder meanwhile
      if (Date.now() > waitUntil) rmSync(lock, { recursive: true, force: true });
      else sleepSync(100);
    }
  }
  try {
    if (existsSync(path.join(dir, done))) return;
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    make(tmp);
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * The directory of this tree's compiled build (`cli.js` in it), compiling it on first use:
 * one build per content, shared by concurrent users (see above).
 */
export function gatewayBuild(): string {
  const name = `${PREFIX}${sourceHash()}`;
  const dir = path.join(BUILD_ROOT, name);
  makeOnce(dir, 'cli.js', (tmp) => {
    compile(ROOT, 'tsconfig.build.json', tmp);
    pruneOldBuilds(name);
  });
  return dir;
}

/** Path of this tree's compiled CLI (gatewayBuild()). */
export const gatewayCLI = (): string => path.join(gatewayBuild(), 'cli.js');

export interface Baseline {
  /** As given: a branch, tag, commit or `HEAD~3`. */
  ref: string;
  commit: string;
  cli: string;
  /** The directory it was unpacked and built in (kept for later runs). */
  dir: string;
  /** The flags that commit's image ran node with (its Dockerfile's ENTRYPOINT). */
  nodeFlags: string[];
}

/** Builds `ref` of this repository (see above) and returns its compiled CLI. */
export function baselineCLI(ref: string): Baseline {
  let commit: string;
  try {
    commit = execFileSync('git', ['rev-parse', '--verify', `${ref}^{commit}`], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
  } catch {
    throw new BuildError(`--baseline ${ref}: not a commit of this repository`);
  }
  const name = `${BASELINE_PREFIX}${commit.slice(0, 12)}`;
  const dir = path.join(BUILD_ROOT, name);
  const cli = path.join(dir, 'dist/cli.js');
  makeOnce(dir, 'dist/cli.js', (tmp) => {
    mkdirSync(tmp, { recursive: true });
    const files = ['src', 'tsconfig.json', 'tsconfig.build.json', 'package.json'];
    const archive = spawnSync('git', ['archive', '--format=tar', commit, ...files], {
      cwd: ROOT,
      maxBuffer: 1 << 30,
    });
    if (archive.status !== 0) throw new BuildError(`git archive ${commit}: ${archive.stderr.toString()}`);
    const untar = spawnSync('tar', ['-x', '-C', tmp], { input: archive.stdout });
    if (untar.status !== 0) throw new BuildError(`unpacking ${commit}: ${untar.stderr.toString()}`);
    compile(tmp, 'tsconfig.build.json', path.join(tmp, 'dist'));
    pruneOldBuilds(name, BASELINE_PREFIX);
  });
  return { ref, commit, cli, dir, nodeFlags: imageNodeFlagsAt(commit) };
}
