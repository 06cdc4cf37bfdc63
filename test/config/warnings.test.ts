/**
 * What a valid config may still get wrong, said by check-config (and by serve
 * at start): the namespace fence that lost kube-system when `deny` was set,
 * and browser sign-in on plain http to a non-loopback host.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { configWarnings } from '../../src/config/warnings.js';
import { parse } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { FROM_SOURCE, startCLI } from '../cli/cli-process.js';

const base = `
publicURL: https://bastion.example.com
authentication:
  jwt:
    - issuer: { url: https://token.actions.githubusercontent.com, audiences: [kube-bastion] }
      claimMappings: { username: { claim: repository, prefix: "github:" } }
`;
const fenced = (deny: string, allow = '["*"]') =>
  `${base}authorization:\n  namespaces: { allow: ${allow}, deny: ${deny} }\n`;

const paths = (yaml: string) => configWarnings(parseConfig(parse(yaml))).map((w) => w.path);

test('a deny list written for one namespace, which dropped kube-system from the fence, is warned about', () => {
  assert.deepEqual(paths(fenced('[team-secret]')), ['authorization.namespaces.deny']);
  assert.deepEqual(paths(fenced('[]')), ['authorization.namespaces.deny']);
});

test('no warning when kube-system stays fenced off or was never let in', () => {
  assert.deepEqual(paths(base), [], 'the default deny');
  assert.deepEqual(paths(fenced('[kube-system, team-secret]')), []);
  assert.deepEqual(paths(fenced('["kube-*"]')), []);
  assert.deepEqual(paths(fenced('[]', '["team-*"]')), [], 'allow never reaches kube-system');
});

test('browser sign-in on plain http to a non-loopback host is warned about; on loopback it is not', () => {
  const browser = (publicURL: string) =>
    configWarnings(
      parseConfig({
        publicURL,
        authentication: {
          oidc: { issuer: 'https://idp.example.com', clientID: 'kube-bastion' },
          session: { secret: 'a-session-secret-of-at-least-32-characters' },
        },
      }),
    ).map((w) => w.path);
  assert.deepEqual(browser('http://bastion.internal:8080'), ['publicURL']);
  assert.deepEqual(browser('http://127.0.0.1:8080'), []);
  assert.deepEqual(browser('https://bastion.example.com'), []);
});

test('check-config prints the warning with the key’s path and still accepts the file', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'bastion-warn-')), 'bastion.yaml');
  writeFileSync(file, fenced('[team-secret]'));
  const cli = startCLI([...FROM_SOURCE, 'check-config', '--config', file], {
    ...process.env,
    KUBECONFIG: '/nonexistent',
  });
  const code = await new Promise<number | null>((done) => cli.child.on('close', done));
  assert.equal(code, 0, cli.stderr());
  assert.match(cli.stdout(), /configuration is valid/);
  assert.match(
    cli.stderr(),
    /warning: authorization\.namespaces\.deny: kube-system is inside the namespace fence/,
  );
});
