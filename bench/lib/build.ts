/**
 * The gateway as it ships: src/ compiled with the build config (what the
 * Docker image runs), not run through tsx. Built once per benchmark run,
 * inside node_modules so that its imports resolve and git ignores it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BUILD_ROOT = path.join(ROOT, 'node_modules/.cache');
const built = new Set<string>();

/**
 * Path of the compiled CLI in `node_modules/.cache/<name>`; compiles on first use
 * (BENCH_BUILD=0 reuses the last build). Tests pass their own name.
 */
export function gatewayCLI(name = 'kube-bastion-bench'): string {
  const dir = path.join(BUILD_ROOT, name);
  const cli = path.join(dir, 'cli.js');
  if (built.has(dir) || (process.env.BENCH_BUILD === '0' && existsSync(cli))) return cli;
  rmSync(dir, { recursive: true, force: true });
  // Type errors elsewhere in the tree do not stop tsc from emitting.
  spawnSync(
    process.execPath,
    ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json', '--outDir', dir],
    {
      cwd: ROOT,
      stdio: 'ignore',
    },
  );
  if (!existsSync(cli)) throw new Error('building the gateway failed (npx tsc -p tsconfig.build.json)');
  built.add(dir);
  return cli;
}
