/**
 * The token store on a shared machine, as ssh treats ~/.ssh: loose modes left
 * from before are tightened (and said), a store someone else could write to or
 * owns is refused with one line, and a credentials file that is a symbolic
 * link is not followed. Real files in a temp dir, the real CLI.
 */
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdtempSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { TokenStore, type StoredCredentials } from '../../src/client/token-store.js';
import { FROM_SOURCE, startCLI } from './cli-process.js';

const ORIGIN = 'http://127.0.0.1:9'; // never called: the stored token is fresh

const credentials = (accessToken: string): StoredCredentials => ({
  origin: ORIGIN,
  accessToken,
  accessTokenIssuedAt: Date.now(),
  accessTokenExpiresAt: Date.now() + 3_600_000,
});

/** A signed-in store: the config home, the store folder and the one credentials file. */
async function signedIn() {
  const home = mkdtempSync(join(tmpdir(), 'bastion-store-'));
  const dir = join(home, 'kube-bastion');
  await new TokenStore(dir).save(credentials('my-token'));
  const [name] = await readdir(join(dir, 'credentials'));
  return { home, dir, file: join(dir, 'credentials', name) };
}

async function token(home: string) {
  const cli = startCLI([...FROM_SOURCE, 'token'], { ...process.env, XDG_CONFIG_HOME: home });
  const code = await new Promise<number | null>((done) => cli.child.on('close', done));
  return { code, stdout: cli.stdout(), stderr: cli.stderr() };
}

const mode = (path: string) => statSync(path).mode & 0o777;

test('modes left loose from before are tightened, and the person is told', async () => {
  const s = await signedIn();
  chmodSync(s.dir, 0o755);
  chmodSync(join(s.dir, 'credentials'), 0o755);
  chmodSync(s.file, 0o644);
  const r = await token(s.home);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'my-token\n');
  assert.equal(mode(s.dir).toString(8), '700');
  assert.equal(mode(join(s.dir, 'credentials')).toString(8), '700');
  assert.equal(mode(s.file).toString(8), '600');
  assert.match(r.stderr, /kube-bastion: .*other users .*could read/);
});

test('a store folder others can write to is refused with one line: its files may not be yours', async () => {
  const s = await signedIn();
  chmodSync(join(s.dir, 'credentials'), 0o777);
  const r = await token(s.home);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '', 'no token from a folder someone else could have filled');
  assert.match(r.stderr, /^kube-bastion: .*credentials is writable by other users.*chmod 700/);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
});

test('a credentials file that is a symbolic link is not followed', async () => {
  const s = await signedIn();
  const planted = join(mkdtempSync(join(tmpdir(), 'bastion-planted-')), 'theirs.json');
  writeFileSync(planted, JSON.stringify(credentials('their-token')), { mode: 0o600 });
  await import('node:fs/promises').then((fs) => fs.rm(s.file));
  symlinkSync(planted, s.file);
  const r = await token(s.home);
  assert.equal(r.code, 1);
  assert.doesNotMatch(r.stdout, /their-token/);
  assert.match(r.stderr, /^kube-bastion: .*is a symbolic link/);
});

test('a store folder another user owns is refused (pre-created in a shared place)', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root to give the folder to another user');
  const s = await signedIn();
  chownSync(s.dir, 65534, 65534);
  const r = await token(s.home);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^kube-bastion: .*kube-bastion is owned by another user/);
});
