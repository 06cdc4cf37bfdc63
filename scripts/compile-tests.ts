/**
 * The tree the suite runs in: this checkout with the TypeScript of src/,
 * test/, bench/ and scripts/ transpiled to JavaScript once, by esbuild (what
 * tsx does at every import of every test process: about a fifth of the
 * suite's CPU on Node 24).
 *
 *   node --import tsx scripts/compile-tests.ts <dir>
 *
 * <dir> mirrors the checkout: each .ts file of those folders becomes
 * a .js file beside a link to the .ts (so a test that reads a source, or runs
 * `node --import tsx src/cli.ts`, still finds it), with a source map, so
 * stack traces under --enable-source-maps name the .ts lines; every other file
 * there and every other entry of the checkout (node_modules, docs, helm,
 * package.json, .git, …) is a link to the original. A test that finds the
 * repository from its own location (import.meta.dirname) finds <dir>, which
 * has everything the checkout has. Only transpiled, never type-checked: that
 * is `npm run typecheck`'s job, as it was with tsx.
 */
import { build } from 'esbuild';
import { mkdirSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const out = path.resolve(process.argv[2] ?? '');
if (!process.argv[2] || out === root)
  throw new Error('usage: node --import tsx scripts/compile-tests.ts <dir>');

const COMPILED = new Set(['src', 'test', 'bench', 'scripts']);
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const sources: string[] = [];
function mirror(dir: string): void {
  mkdirSync(path.join(out, dir), { recursive: true });
  for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) mirror(rel);
    else {
      symlinkSync(path.join(root, rel), path.join(out, rel));
      if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) sources.push(path.join(root, rel));
    }
  }
}
for (const entry of readdirSync(root)) {
  if (COMPILED.has(entry)) mirror(entry);
  else symlinkSync(path.join(root, entry), path.join(out, entry));
}

await build({
  entryPoints: sources,
  outdir: out,
  outbase: root,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  tsconfig: path.join(root, 'tsconfig.json'),
  logLevel: 'warning',
});
