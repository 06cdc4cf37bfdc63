/**
 * The gateway as it ships: src/ compiled with the build config (what the
 * Docker image runs), not run through tsx.
 *
 * This tree's build goes inside node_modules, so that its imports resolve and
 * git ignores it, under a name of its own per checkout: several worktrees may
 * share one node_modules (a symlink), and one's benchmark must not compile
 * over another's gateway while it runs.
 *
 * A baseline (`--baseline <git-ref>`) is that commit's src/ taken with
 * `git archive` into a directory under the system temp dir, with a symlink to
 * this node_modules (its package.json is not installed: a ref whose
 * dependencies differ from this tree's may not build or run), compiled with
 * this tree's tsc. One directory per commit, reused by later runs.
 */
import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BUILD_ROOT = path.join(ROOT, 'node_modules/.cache');
const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc');
const built = new Set<string>();

export class BuildError extends Error {
  override name = 'BuildError';
}

/** The default build's name: one per checkout (`kube-bastion-bench-<hash of this tree's path>`). */
export const defaultBuildName = () =>
  `kube-bastion-bench-${createHash('sha256').update(ROOT).digest('hex').slice(0, 8)}`;

/** Compiles `project` (a tsconfig) into `outDir`; type errors do not stop tsc from emitting. */
function compile(cwd: string, project: string, outDir: string): void {
  rmSync(outDir, { recursive: true, force: true });
  spawnSync(process.execPath, [TSC, '-p', project, '--outDir', outDir], { cwd, stdio: 'ignore' });
  if (!existsSync(path.join(outDir, 'cli.js'))) {
    throw new BuildError(`building the gateway failed (tsc -p ${path.join(cwd, project)})`);
  }
}

/**
 * Path of the compiled CLI in `node_modules/.cache/<name>`; compiles on first use
 * (BENCH_BUILD=0 reuses the last build). Tests pass their own name.
 */
export function gatewayCLI(name = defaultBuildName()): string {
  const dir = path.join(BUILD_ROOT, name);
  const cli = path.join(dir, 'cli.js');
  if (built.has(dir) || (process.env.BENCH_BUILD === '0' && existsSync(cli))) return cli;
  compile(ROOT, 'tsconfig.build.json', dir);
  built.add(dir);
  return cli;
}

export interface Baseline {
  /** As given: a branch, tag, commit or `HEAD~3`. */
  ref: string;
  commit: string;
  cli: string;
  /** The directory it was unpacked and built in (kept for later runs). */
  dir: string;
}

/** Builds `ref` of this repository (see above) and returns its compiled CLI; tests pass a directory of their own. */
export function baselineCLI(ref: string, into?: string): Baseline {
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
  const dir = into ?? path.join(tmpdir(), `kube-bastion-baseline-${commit.slice(0, 12)}`);
  const cli = path.join(dir, 'dist/cli.js');
  if (existsSync(cli)) return { ref, commit, cli, dir };
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const files = ['src', 'tsconfig.json', 'tsconfig.build.json', 'package.json'];
  const archive = spawnSync('git', ['archive', '--format=tar', commit, ...files], {
    cwd: ROOT,
    maxBuffer: 1 << 30,
  });
  if (archive.status !== 0) throw new BuildError(`git archive ${commit}: ${archive.stderr.toString()}`);
  const untar = spawnSync('tar', ['-x', '-C', dir], { input: archive.stdout });
  if (untar.status !== 0) throw new BuildError(`unpacking ${commit}: ${untar.stderr.toString()}`);
  symlinkSync(realpathSync(path.join(ROOT, 'node_modules')), path.join(dir, 'node_modules'), 'dir');
  compile(dir, 'tsconfig.build.json', path.join(dir, 'dist'));
  return { ref, commit, cli, dir };
}
