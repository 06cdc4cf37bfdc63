/**
 * The package as npm ships it: src/ compiled with the build config (what `npm run build` and the
 * image do) into a throwaway copy of the package — its package.json, its dist/ — whose
 * `kube-bastion` bin is what `npx kube-bastion` and `npm run demo` run. Built from this tree's
 * sources (bench/lib/build.ts: one build per content, shared with the other tests that run the
 * compiled gateway), so no test depends on an earlier `npm run build` or on a stale dist/.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { gatewayBuild } from '../../bench/lib/build.js';
import { DEMO_URL, ROOT, startCLI } from './cli-process.js';

const run = promisify(execFile);
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  bin: Record<string, string>;
  files: string[];
};
const BIN = pkg.bin['kube-bastion'];

let dir: string;
let bin: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'kube-bastion-package-'));
  copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  // What `npm install` would put beside it; the compiled code resolves its imports there.
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  // `npm run build`'s output, copied in as the package's dist/ (a link would resolve to the shared
  // build's own path, where no package.json is beside it). gatewayBuild throws when tsc emitted no cli.js.
  cpSync(gatewayBuild(), join(dir, 'dist'), { recursive: true });
  bin = join(dir, BIN);
  assert.ok(existsSync(bin), `the build has no ${BIN} (package.json "bin")`);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('the bin is published ("files") and is a node script', () => {
  assert.ok(
    pkg.files.some((f) => BIN === f || BIN.startsWith(`${f.replace(/\/$/, '')}/`)),
    `"files" ${JSON.stringify(pkg.files)} does not ship ${BIN}`,
  );
  assert.equal(readFileSync(bin, 'utf8').split('\n')[0], '#!/usr/bin/env node');
});

test('run through its shebang, as npx does: --version is the package version, --help the usage', async () => {
  chmodSync(bin, 0o755); // npm sets the bit when it links a bin
  const version = await run(bin, ['--version']);
  assert.equal(version.stdout, `${pkg.version}\n`);
  const help = await run(process.execPath, [bin, '--help']);
  assert.match(help.stdout, /kube-bastion \[serve\] --config FILE/);
});

test('demo from the build (`npm run demo`): prints a URL that sends a browser to sign in, stops on SIGINT', async (t) => {
  const started = performance.now();
  const demo = startCLI([process.execPath, bin, 'demo', '--port', '0']);
  try {
    const [, url] = await demo.waitFor(DEMO_URL);
    t.diagnostic(`the built demo printed its URL ${Math.round(performance.now() - started)} ms after spawn`);
    const res = await fetch(url, { headers: { accept: 'text/html' }, redirect: 'manual' });
    assert.equal(res.status, 302);
    assert.match(res.headers.get('location') ?? '', /^\/auth\/login\?rd=%2F$/);
    await res.body?.cancel();
  } finally {
    assert.equal(await demo.stop('SIGINT'), 0, `demo did not stop cleanly on SIGINT\n${demo.stderr()}`);
  }
});
