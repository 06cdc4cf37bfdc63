/**
 * The flags the image runs node with: the benchmark runs the gateway as the
 * image does, so a runtime flag (a V8 heap size) is measured where it ships.
 * The Dockerfile's ENTRYPOINT (exec form) is the one place they are written;
 * for a baseline commit, that commit's Dockerfile.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The arguments between node and the script in the last ENTRYPOINT; [] when it has none. */
export function entrypointNodeFlags(dockerfile: string): string[] {
  const entrypoints = dockerfile
    .split('\n')
    .map((line) => /^\s*ENTRYPOINT\s+(\[.*\])\s*$/.exec(line)?.[1])
    .filter((x): x is string => x !== undefined);
  const last = entrypoints.at(-1);
  if (!last) return [];
  const argv = JSON.parse(last) as unknown;
  if (!Array.isArray(argv) || !argv.every((a) => typeof a === 'string'))
    throw new Error(`Dockerfile ENTRYPOINT is not an exec-form list of strings: ${last}`);
  const script = argv.findIndex((a, i) => i > 0 && !a.startsWith('-'));
  return argv.slice(1, script < 0 ? argv.length : script);
}

/** This tree's image flags. */
export const imageNodeFlags = (): string[] =>
  entrypointNodeFlags(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'));

/** The image flags of another commit ([] when it had no Dockerfile). */
export function imageNodeFlagsAt(commit: string): string[] {
  let text: string;
  try {
    text = execFileSync('git', ['show', `${commit}:Dockerfile`], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  } catch {
    return [];
  }
  return entrypointNodeFlags(text);
}
