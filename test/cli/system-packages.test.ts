/**
 * `npm test` on a fresh machine: scripts/system-packages.sh (run before a whole run) installs the
 * Debian packages the suite needs when it can — root with apt-get — and otherwise prints the one
 * command to run and fails. Driven through PATH alone, without a network or root: a directory
 * of stand-ins for the tools, `id` (who we are) and `apt-get` (which records what it was asked
 * and "installs" by adding the stand-in). The script also looks in /usr/sbin and /sbin, so the
 * tools hidden here are ones that live in /usr/bin.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';

const ROOT = resolve(import.meta.dirname, '../..');
/** package → the command the script looks for, as in scripts/system-packages.sh. */
const TOOLS: Record<string, string> = {
  chromium: 'chromium',
  'redis-server': 'redis-server',
  'redis-tools': 'redis-cli',
  nginx: 'nginx',
  wrk: 'wrk',
  unzip: 'unzip',
  'openssh-server': 'sshd',
};
const which = (command: string) =>
  spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).stdout.trim();
const BASH = which('bash');
const SH = which('sh');

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function executable(path: string, body: string): void {
  writeFileSync(path, `#!${SH}\n${body}\n`);
  chmodSync(path, 0o755);
}

interface Machine {
  uid: number;
  /** Packages whose command is already on PATH. */
  installed: string[];
  /** Whether apt-get exists, and its exit code for `install`. */
  apt?: { installExit: number };
}

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Each apt-get call: "DEBIAN_FRONTEND=<value> <args>". */
  aptCalls: string[];
}

/** Runs a script of the repo with PATH set to a made-up machine's bin directory only. */
async function onMachine(
  machine: Machine,
  script: string,
  env: Record<string, string> = {},
): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'kb-system-packages-'));
  dirs.push(dir);
  const bin = join(dir, 'bin');
  const log = join(dir, 'apt.log');
  mkdirSync(bin);
  // The base system run-tests.sh uses.
  for (const base of ['bash', 'dirname']) symlinkSync(which(base), join(bin, base));
  writeFileSync(log, '');
  executable(join(bin, 'id'), `[ "$1" = -u ] && echo ${machine.uid}`);
  for (const pkg of machine.installed) executable(join(bin, TOOLS[pkg]), 'exit 0');
  if (machine.apt) {
    const stubs = Object.entries(TOOLS)
      .map(
        ([pkg, cmd]) =>
          `    ${pkg}) printf '#!${SH}\\n' > ${bin}/${cmd}; ${which('chmod')} +x ${bin}/${cmd};;`,
      )
      .join('\n');
    executable(
      join(bin, 'apt-get'),
      [
        `echo "DEBIAN_FRONTEND=$DEBIAN_FRONTEND $*" >> ${log}`,
        `[ "$1" = update ] && exit 0`,
        `[ ${machine.apt.installExit} = 0 ] || { echo "E: Unable to locate package" >&2; exit ${machine.apt.installExit}; }`,
        'for arg; do',
        '  case "$arg" in',
        stubs,
        '  esac',
        'done',
      ].join('\n'),
    );
  }
  const child = spawn(BASH, [join(ROOT, script)], { cwd: ROOT, env: { PATH: bin, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((done) => child.on('close', done));
  const aptCalls = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  return { code, stdout, stderr, aptCalls };
}

const ALL = Object.keys(TOOLS);
const ALL_BUT = (...absent: string[]) => ALL.filter((p) => !absent.includes(p));
const SCRIPT = 'scripts/system-packages.sh';

test('everything installed: exit 0, silent, apt-get never called', async () => {
  const r = await onMachine({ uid: 1000, installed: ALL, apt: { installExit: 0 } }, SCRIPT);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout + r.stderr, '');
  assert.deepEqual(r.aptCalls, []);
});

test('not root: names what is missing, prints the one command that installs it, exits 1', async () => {
  const r = await onMachine(
    { uid: 1000, installed: ALL_BUT('wrk', 'redis-tools'), apt: { installExit: 0 } },
    SCRIPT,
  );
  assert.equal(r.code, 1);
  assert.match(r.stderr, /missing system packages: redis-tools wrk\n/);
  const commands = r.stderr.split('\n').filter((line) => /apt-get/.test(line));
  assert.deepEqual(commands, ['  sudo apt-get update && sudo apt-get install -y redis-tools wrk']);
  assert.deepEqual(r.aptCalls, [], 'nothing is installed without root');
  assert.equal(r.stdout, '', 'stdout stays for the test report');
});

test('root with apt-get: updates, installs exactly what is missing without questions, and passes', async () => {
  const r = await onMachine(
    { uid: 0, installed: ALL_BUT('chromium', 'unzip'), apt: { installExit: 0 } },
    SCRIPT,
  );
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.aptCalls, [
    'DEBIAN_FRONTEND= update -qq',
    'DEBIAN_FRONTEND=noninteractive install -y -qq chromium unzip',
  ]);
  assert.match(r.stderr, /installing missing system packages: chromium unzip/);
  assert.equal(r.stdout, '');
});

test('root, but apt-get fails: exits 1 with the command to run', async () => {
  const r = await onMachine({ uid: 0, installed: ALL_BUT('wrk'), apt: { installExit: 100 } }, SCRIPT);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /E: Unable to locate package/, "apt-get's own reason is shown");
  assert.match(
    r.stderr,
    /apt-get could not install them[^\n]*\n\n {2}apt-get update && apt-get install -y wrk\n/,
  );
});

test('root without apt-get (not Debian): exits 1 naming the Debian packages', async () => {
  const r = await onMachine({ uid: 0, installed: ALL_BUT('redis-server') }, SCRIPT);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /missing system packages: redis-server\n/);
  assert.match(r.stderr, /No apt-get here/);
});

test('a whole `npm test` stops there, before starting the suite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kb-fake-node-'));
  dirs.push(dir);
  const fakeNode = join(dir, 'node');
  executable(fakeNode, 'echo SUITE STARTED; exit 3');
  const r = await onMachine({ uid: 1000, installed: ALL_BUT('redis-server') }, 'scripts/run-tests.sh', {
    NODE_BIN: fakeNode,
  });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /missing system packages: [^\n]*redis-server/);
  assert.match(r.stderr, /sudo apt-get update && sudo apt-get install -y [^\n]*redis-server/);
  assert.doesNotMatch(r.stdout, /SUITE STARTED/);
});
