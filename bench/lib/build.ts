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
const BUILD = path.join(ROOT, 'node_modules/.cache/kube-bastion-bench');
const CLI = path.join(BUILD, 'cli.js');
let built = false;

/** Path of the compiled CLI; compiles on first use (BENCH_BUILD=0 reuses the last build). */
export function gatewayCLI(): string {
  if (built || (process.env.BENCH_BUILD === '0' && existsSync(CLI))) return CLI;
  rmSync(BUILD, { recursive: true, force: true });
  // Type errors elsewhere in the tree do not stop tsc from emitting.
  spawnSync(
    process.execPath,
    ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json', '--outDir', BUILD],
    { cwd: ROOT, stdio: 'ignore' },
  );
  if (!existsSync(CLI)) throw new Error('building the gateway failed (npx tsc -p tsconfig.build.json)');
  built = true;
  return CLI;
}
