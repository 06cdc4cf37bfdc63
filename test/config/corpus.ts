/**
 * One config file, two commands: `check-config` and `serve`, each a real child
 * process of src/cli.ts started with the same file and environment. `serve`
 * either becomes ready (/readyz 200 on its admin port, port 0) and is killed,
 * or exits; `check-config` exits 0 or 1. They must agree, and when they refuse,
 * both name the same keys.
 *
 * The world the files refer to is built here: `${FILES}` (certificates, keys,
 * secrets, broken ones too), `${KUBECONFIG}` (a fake API server), `${IDP}` (a
 * real OpenID provider on loopback), `${CA_PEM}`, `${CLIENT_SECRET}`, `${COOKIE_SECRET}`.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { ConfigError, loadConfigFile } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { createGateway } from '../../src/server/gateway.js';
import { FROM_SOURCE, startCLI } from '../cli/cli-process.js';
import { eventually } from '../support/eventually.js';
import { startFakeApiServer } from '../support/fake-apiserver.js';
import { startTestIdP } from '../support/oidc-provider.js';
import { createTestCA } from '../support/tls.js';

export const FIXTURES = join(import.meta.dirname, 'fixtures');

export interface Fixture {
  name: string;
  file: string;
  /** Extra arguments for both commands (`# args: --insecure-no-auth`). */
  args: string[];
  /** For a file that must be refused: the paths of the keys both commands must name (`# expect: a.b, c`). */
  expect?: string[];
  /** More environment for both commands (a rendered pod's env). */
  env?: Record<string, string>;
}

/** Whether a fixture is about a file the config names (the loader's second layer) rather than the config. */
export const namesAFile = (f: Fixture): boolean =>
  (f.expect ?? []).some((path) =>
    /File$|certificateAuthority$|^kubernetes\.(kubeconfig|context)$|audit\.file$/.test(path),
  );

/** The fixtures of `fixtures/<kind>`, with the directives of their leading comments. */
export function readFixtures(kind: 'good' | 'bad'): Fixture[] {
  const dir = join(FIXTURES, kind);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => {
      const text = readFileSync(join(dir, f), 'utf8');
      const directive = (name: string) => new RegExp(`^# ${name}: (.*)$`, 'm').exec(text)?.[1]?.trim();
      const expect = directive('expect')?.split(/,\s*/);
      const args = directive('args')?.split(/\s+/) ?? [];
      return { name: `${kind}/${f}`, file: join(dir, f), args, expect };
    });
}

const pem = (o: { export(opts: { format: 'pem'; type: 'pkcs8' }): string | Buffer }) =>
  String(o.export({ format: 'pem', type: 'pkcs8' }));

/** What `${FILES}` holds: good material and the broken kinds the bad fixtures name. */
async function writeFiles(dir: string): Promise<{ caPem: string }> {
  const ca = await createTestCA();
  const leaf = await ca.issue(['127.0.0.1', 'localhost']);
  const ec = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const encrypted = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
    privateKeyEncoding: { format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'secret' },
    publicKeyEncoding: { format: 'pem', type: 'spki' },
  }).privateKey;
  const files: Record<string, string | Buffer> = {
    'tls.crt': leaf.cert,
    'tls.key': leaf.key,
    'other.key': pem(ec()),
    'encrypted.key': encrypted,
    'ca.crt': ca.caPem,
    'signing.key': pem(ec()) + pem(ec()),
    'rsa.key': pem(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey),
    'client-secret': 'a-client-secret\n',
    'cookie-secret': `${'c'.repeat(40)}\n`,
    'short-secret': 'too-short\n',
    // Not UTF-8: what `head -c 48 /dev/urandom` writes.
    'random-bytes': Buffer.from(Array.from({ length: 48 }, (_, i) => (i * 97 + 131) % 256)),
    empty: '',
    'not-pem.txt': 'hello, not a PEM file\n',
    'empty-kubeconfig': 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n',
    // The names the chart and the docs mount their Secret's keys under.
    'oidc-client-secret': 'a-client-secret',
    'session-secret': 's'.repeat(32),
    'assertion-signing-key': pem(ec()),
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  mkdirSync(join(dir, 'a-directory'));
  return { caPem: ca.caPem };
}

export interface World {
  /** The environment both commands run in. */
  env: NodeJS.ProcessEnv;
  files: string;
  idp: string;
  close(): Promise<void>;
}

export async function startWorld(): Promise<World> {
  const files = mkdtempSync(join(tmpdir(), 'bastion-corpus-'));
  const [{ caPem }, api, idp] = await Promise.all([
    writeFiles(files),
    startFakeApiServer({ objects: [] }),
    startTestIdP(),
  ]);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    FILES: files,
    KUBECONFIG: api.writeKubeconfig(join(files, 'kubeconfig')),
    IDP: idp.issuer,
    CA_PEM: caPem,
    CLIENT_SECRET: 'a-client-secret',
    COOKIE_SECRET: 'k'.repeat(40),
  };
  delete env.KUBE_BASTION_FIXTURE_UNSET;
  // The in-process runs read the same environment (the kubeconfig a cluster config falls back to).
  const saved = { ...process.env };
  Object.assign(process.env, env);
  delete process.env.KUBE_BASTION_FIXTURE_UNSET;
  return {
    env,
    files,
    idp: idp.issuer,
    async close() {
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
      await Promise.all([api.stop(), idp.close()]);
      rmSync(files, { recursive: true, force: true });
    },
  };
}

export interface Outcome {
  /** check-config: exited 0; serve: became ready. */
  accepted: boolean;
  /** The `  path: message` lines printed under "invalid configuration:". */
  problems: string[];
  output: string;
}

/** The problem lines both commands print when they refuse a file (commands/config-file.ts). */
function problemLines(stderr: string): string[] {
  const at = stderr.indexOf('invalid configuration:\n');
  if (at < 0) return [];
  return stderr
    .slice(at)
    .split('\n')
    .slice(1)
    .filter((l) => l.startsWith('  '))
    .map((l) => l.slice(2));
}

export const pathOf = (problem: string) => problem.split(': ')[0];

/** A safety net for a hung child, not a timing assertion. */
const HUNG_MS = 90_000;

const start = (command: string, fixture: Fixture, env: NodeJS.ProcessEnv) =>
  startCLI([...FROM_SOURCE, command, '--config', fixture.file, ...fixture.args], { ...env, ...fixture.env });

export async function checkConfig(fixture: Fixture, env: NodeJS.ProcessEnv): Promise<Outcome> {
  const cli = start('check-config', fixture, env);
  const hung = setTimeout(() => void cli.stop('SIGKILL'), HUNG_MS);
  const code = await new Promise<number | null>((done) => cli.child.on('close', done));
  clearTimeout(hung);
  assert.ok(code === 0 || code === 1, `${fixture.name}: check-config exited ${code}\n${cli.stderr()}`);
  const output = cli.stdout() + cli.stderr();
  return { accepted: code === 0, problems: problemLines(cli.stderr()), output };
}

export async function serve(fixture: Fixture, env: NodeJS.ProcessEnv): Promise<Outcome> {
  const cli = start('serve', fixture, env);
  try {
    const [, adminURL] = await cli.waitFor(/"adminURL":"(http:\/\/[^"]+)"/, HUNG_MS);
    await eventually(async () => (await fetch(`${adminURL}/readyz`)).status === 200, HUNG_MS, 50);
    return { accepted: true, problems: [], output: cli.stdout() };
  } catch (err) {
    const code = await cli.stop('SIGKILL');
    const output = `${cli.stdout()}${cli.stderr()}`;
    assert.notEqual(
      code,
      null,
      `${fixture.name}: serve neither became ready nor exited\n${output}\n${String(err)}`,
    );
    return { accepted: false, problems: problemLines(cli.stderr()), output };
  } finally {
    await cli.stop('SIGKILL');
  }
}

/** check-config exit 0 ⇔ serve becomes ready; when refused, the same problems, naming `expect` if given. */
export function assertAgree(fixture: Fixture, check: Outcome, served: Outcome): void {
  const about = `${fixture.name}\n--- check-config:\n${check.output}\n--- serve:\n${served.output}`;
  assert.equal(served.accepted, check.accepted, `check-config and serve disagree on ${about}`);
  if (check.accepted) return;
  assert.ok(check.problems.length > 0, `check-config refused without naming a key: ${about}`);
  assert.deepEqual(
    served.problems,
    check.problems,
    `serve and check-config name different problems: ${about}`,
  );
  if (fixture.expect)
    assert.deepEqual(
      [...new Set(check.problems.map(pathOf))].sort(),
      [...fixture.expect].sort(),
      `the keys named are not the ones expected: ${about}`,
    );
}

/**
 * An example (docs, chart, demo) made runnable here, its keys otherwise untouched: both
 * listeners on loopback port 0, `info` logs (serve's "listening" line names the admin port),
 * the IdP the world runs, the mounted-Secret directory replaced by `${FILES}`.
 */
export function runnable(config: Record<string, unknown>, world: World): Record<string, unknown> {
  const c = JSON.parse(
    JSON.stringify(config).replaceAll('/var/run/secrets/kube-bastion', world.files),
  ) as Record<string, Record<string, unknown> & { oidc?: { issuer: string } }>;
  c.listen = { ...c.listen, address: '127.0.0.1', port: 0 };
  c.admin = { ...c.admin, address: '127.0.0.1', port: 0 };
  c.logging = { ...c.logging, level: 'info' };
  if (c.authentication?.oidc) c.authentication.oidc.issuer = world.idp;
  return c;
}

/** A fixture written to `dir` from a config object (JSON is YAML). */
export function writtenFixture(
  name: string,
  dir: string,
  config: object,
  more: Pick<Fixture, 'expect' | 'env'> = {},
): Fixture {
  const file = join(dir, `${name.replace(/[^A-Za-z0-9.-]+/g, '-')}.yaml`);
  writeFileSync(file, JSON.stringify(config, null, 2));
  return { name, file, args: [], ...more };
}

/** A config both commands are given: a fixture file, or an example made runnable in the world. */
export interface Case {
  name: string;
  /** Both must refuse it, naming exactly these keys; unset: both must accept it. */
  refuse?: string[];
  fixture(world: World, dir: string): Fixture | Promise<Fixture>;
}

export const fixtureCases = (fixtures: Fixture[]): Case[] =>
  fixtures.map((f) => ({ name: f.name, refuse: f.expect, fixture: () => f }));

/** How both commands print a problem (commands/config-file.ts). */
const problemLine = (p: { path: string; message: string }) => `${p.path ? `${p.path}: ` : ''}${p.message}`;

/**
 * `check-config` as its command does it (commands/check-config.ts), in this process:
 * the loader with the same options; a ConfigError's problems are what it prints.
 */
export async function checkConfigHere(
  fixture: Fixture,
  env: NodeJS.ProcessEnv,
): Promise<Outcome & { config?: Config }> {
  const insecureNoAuth = fixture.args.includes('--insecure-no-auth');
  try {
    const config = await loadConfigFile(fixture.file, { insecureNoAuth, env: { ...env, ...fixture.env } });
    return { accepted: true, problems: [], output: 'configuration is valid', config };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const problems = err.problems.map(problemLine);
    return { accepted: false, problems, output: problems.join('\n') };
  }
}

/**
 * `serve` as its command does it (commands/serve.ts), in this process: load, build the
 * gateway, listen on the file's ports (port 0 here) and wait for /readyz. Whatever
 * refuses after the loader (a constructor, a listener) is a refusal check-config missed.
 */
export async function serveHere(fixture: Fixture, env: NodeJS.ProcessEnv): Promise<Outcome> {
  const { config, ...loaded } = await checkConfigHere(fixture, env);
  if (!config) return loaded;
  const insecureNoAuth = fixture.args.includes('--insecure-no-auth');
  const logger = pino({ level: 'silent' });
  let gateway: Awaited<ReturnType<typeof createGateway>> | undefined;
  try {
    gateway = await createGateway({ config, logger, insecureNoAuth });
    const { adminURL } = await gateway.listen();
    await eventually(async () => (await fetch(`${adminURL}/readyz`)).status === 200, HUNG_MS, 50);
    return { accepted: true, problems: [], output: 'ready' };
  } catch (err) {
    return { accepted: false, problems: [], output: `cannot start: ${(err as Error).message}` };
  } finally {
    await gateway?.close().catch(() => {});
  }
}

/**
 * Both commands on one case, then that they agree (and accept, or refuse naming c.refuse).
 * In this process, as the commands call the loader and the gateway: a child process per
 * command and fixture costs seconds of start-up each; `the real command line` cases
 * (agreement-cli.test.ts) run a sample of the corpus as real processes.
 */
async function agree(c: Case, world: World, dir: string): Promise<void> {
  const fixture = await c.fixture(world, dir);
  const check = await checkConfigHere(fixture, world.env);
  const served = await serveHere(fixture, world.env);
  assert.equal(check.accepted, !c.refuse, `check-config on ${c.name}:\n${check.output}`);
  assertAgree({ ...fixture, expect: c.refuse }, check, served);
}

/** Both commands on one case as real child processes of src/cli.ts. */
export async function agreeAsProcesses(c: Case, world: World, dir: string): Promise<void> {
  const fixture = await c.fixture(world, dir);
  const [check, served] = await Promise.all([checkConfig(fixture, world.env), serve(fixture, world.env)]);
  assert.equal(check.accepted, !c.refuse, `check-config on ${c.name}:\n${check.output}`);
  assertAgree({ ...fixture, expect: c.refuse }, check, served);
}

/**
 * One test per case, two cases at a time (four processes: the machine has two cores,
 * and each process is mostly start-up work).
 */
export function agreementTests(title: string, cases: Case[]): void {
  describe(title, { concurrency: 2 }, () => {
    let world: World;
    let dir: string;
    before(async () => {
      world = await startWorld();
      dir = mkdtempSync(join(tmpdir(), 'bastion-examples-'));
    });
    after(async () => {
      await world?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });
    for (const c of cases) {
      const what = c.refuse
        ? `check-config exits 1 and serve refuses, both naming ${c.refuse.join(', ')}`
        : 'check-config exits 0 and serve becomes ready';
      test(`${c.name}: ${what}`, () => agree(c, world, dir));
    }
  });
}
