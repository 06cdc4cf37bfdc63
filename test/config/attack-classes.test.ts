/**
 * The config file as an attacker (or a careless pipeline) would write it:
 * `${ENV}` values that look like YAML, secret files that are not what they
 * seem, alias bombs, huge documents, duplicate keys, YAML tags, and CEL
 * expressions built to be expensive when the config loads. Every one ends in
 * a ConfigError that names the key (check-config exits 1 with it), or in the
 * config meaning exactly what it says — never in a stack trace or a hang.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { rmSync } from 'node:fs';
import { ConfigError, loadConfigFile, MAX_CONFIG_BYTES, parseConfig } from '../../src/config/load.js';
import { FROM_SOURCE, startCLI } from '../cli/cli-process.js';

const dir = mkdtempSync(join(tmpdir(), 'bastion-config-attacks-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = (content: string | Buffer, name = `f${n++}`) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

/** The problems a config is refused with, as `path: message` lines. */
async function refusal(load: () => unknown): Promise<string[]> {
  try {
    await load();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.path}: ${p.message}`);
    throw err;
  }
  assert.fail('the config was accepted');
}

// A session alone is no way to sign in: --insecure-no-auth, as check-config would be run.
const SESSION = 'kubernetes: none\nauthentication: { session: { secretFile: SECRET } }\n';
const loadSession = (path: string) =>
  loadConfigFile(file(SESSION.replace('SECRET', path)), { insecureNoAuth: true });
const withSecret = (bytes: string | Buffer) => loadSession(file(bytes));

describe('${ENV} references', () => {
  test('a value that looks like YAML stays one string; no key appears', () => {
    const env = {
      CLIENT: 'bastion\nauthorization:\n  nodeProxy: true',
      NS: 'x", "kube-system',
    };
    const config = parseConfig(
      {
        publicURL: 'https://bastion.example.com',
        authorization: { namespaces: { allow: ['${NS}'] } },
        authentication: {
          oidc: { issuer: 'https://idp.example.com', clientID: '${CLIENT}' },
          session: { secret: 'x'.repeat(32) },
        },
      },
      { env },
    );
    assert.equal(config.authentication.oidc!.clientID, env.CLIENT);
    assert.equal(config.authorization.nodeProxy, false);
    assert.deepEqual(config.authorization.namespaces.allow, [env.NS]);
  });
  test('a value holding ${OTHER} is not expanded again', () => {
    const config = parseConfig(
      { authentication: { session: { secret: '${A}' } } },
      { env: { A: '${B}-and-more-than-thirty-two-characters', B: 'leaked' } },
    );
    assert.equal(config.authentication.session!.secret, '${B}-and-more-than-thirty-two-characters');
  });
  test('a reference in a key is not expanded: the key is unknown', async () => {
    assert.deepEqual(await refusal(() => parseConfig({ '${K}': 1 }, { env: { K: 'listen' } })), [
      '${K}: unknown key (check its spelling)',
    ]);
  });
});

describe('secretFile', () => {
  test('random bytes (not UTF-8) are refused, not read with their entropy replaced by U+FFFD', async () => {
    const bytes = Buffer.from(Array.from({ length: 48 }, (_, i) => (i * 97 + 131) % 256));
    const [problem] = await refusal(() => withSecret(bytes));
    assert.match(problem, /^authentication\.session\.secretFile: .* is not UTF-8 text/);
  });
  test('whitespace around the secret is not part of it; whitespace only is too short', async () => {
    const secret = 's'.repeat(40);
    assert.equal((await withSecret(`\n  ${secret}\r\n`)).authentication.session!.secret, secret);
    assert.match((await refusal(() => withSecret(' '.repeat(64))))[0], /at least 32/);
    assert.match((await refusal(() => withSecret('')))[0], /at least 32/);
  });
  test('a directory, a missing file: the key and the reason', async () => {
    const d = join(dir, 'a-directory');
    mkdirSync(d);
    assert.match(
      (await refusal(() => loadSession(d)))[0],
      /^authentication\.session\.secretFile: cannot read .*: it is a directory/,
    );
    assert.match(
      (await refusal(() => loadSession(join(dir, 'missing'))))[0],
      /^authentication\.session\.secretFile: cannot read .*: no such file/,
    );
  });
});

describe('YAML', () => {
  const bomb = [
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
    ...'bcdefghi'.split('').map((k, i) => {
      const prev = 'abcdefghi'[i];
      return `${k}: &${k} [${Array.from({ length: 9 }, () => `*${prev}`).join(',')}]`;
    }),
  ].join('\n');
  test('an alias bomb (billion laughs) is a config error, not a crash', async () => {
    const [problem] = await refusal(() => loadConfigFile(file(bomb)));
    assert.match(problem, /^: YAML: Excessive alias count/);
  });
  test('check-config says so and exits 1, without a stack trace', async () => {
    const cli = startCLI([...FROM_SOURCE, 'check-config', '--config', file(bomb)], {
      ...process.env,
      KUBECONFIG: '/nonexistent',
    });
    const code = await new Promise<number | null>((done) => cli.child.on('close', done));
    assert.equal(code, 1);
    assert.match(cli.stderr(), /invalid configuration:\n {2}YAML: Excessive alias count/);
    assert.doesNotMatch(cli.stderr(), /\n\s+at /);
  });
  test('a document larger than a ConfigMap can hold is refused before parsing', async () => {
    const big = `# ${'x'.repeat(MAX_CONFIG_BYTES)}\nlisten: { port: 8080 }\n`;
    assert.match((await refusal(() => loadConfigFile(file(big))))[0], /is larger than 1048576 bytes/);
  });
  test('a key given twice is refused, not resolved by whichever parser reads it', async () => {
    const [problem] = await refusal(() =>
      loadConfigFile(file('authorization: { nodeProxy: false }\nauthorization: { nodeProxy: true }\n')),
    );
    assert.match(problem, /YAML: Map keys must be unique/);
  });
  test('language tags are not code: !!js/function, !!binary, !!set', async () => {
    for (const tagged of [
      'publicURL: !!js/function "function () { return 1 }"',
      'publicURL: !!binary aGVsbG8=',
      'authorization: { namespaces: { allow: !!set { team-a } } }',
    ])
      assert.ok((await refusal(() => loadConfigFile(file(tagged)))).length > 0, tagged);
  });
});

describe('CEL expressions built to be expensive at load', () => {
  const withExpression = (expression: string) =>
    refusal(() =>
      parseConfig({
        kubernetes: 'none',
        authentication: {
          jwt: [
            {
              issuer: { url: 'https://ci.example.com', audiences: ['b'] },
              claimMappings: { username: { expression } },
            },
          ],
        },
      }),
    );
  const PATH = 'authentication.jwt[0].claimMappings.username.expression';
  const rows: [string, string, RegExp][] = [
    ['5,000 nested parentheses', `${'('.repeat(5000)}claims.sub${')'.repeat(5000)}`, /maxDepth/],
    ['20,000 negations', `${'!'.repeat(20_000)}true ? claims.sub : ''`, /invalid CEL expression/],
    [
      'a regex repeat RE2 refuses',
      "claims.sub.matches('((a{1000}){1000}){1000}') ? 'x' : ''",
      /invalid repeat count/,
    ],
    ['lookaround (not RE2)', "claims.sub.matches('(?=a)a') ? 'x' : ''", /invalid regular expression/],
    [
      '3,000 list elements',
      `[${Array.from({ length: 3000 }, (_, i) => i).join(',')}].size() > 0 ? claims.sub : ''`,
      /invalid CEL expression/,
    ],
  ];
  for (const [name, expression, message] of rows)
    test(`${name}: refused with its path`, async () => {
      const problems = await withExpression(expression);
      assert.equal(problems.length, 1, problems.join('\n'));
      assert.ok(problems[0].startsWith(`${PATH}: `), problems[0]);
      assert.match(problems[0], message);
    });
});
