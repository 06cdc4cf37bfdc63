/**
 * The files a config names are read where the config says, once, when it loads:
 * relative paths from the config file's directory (whatever the working
 * directory), and the loaded config holds them absolute, so the listener, the key
 * ring and the audit log open the very files that were checked.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { generateKeyPairSync } from 'node:crypto';
import { ConfigError, loadConfigFile } from '../../src/config/load.js';
import { createTestCA } from '../support/tls.js';

const dir = mkdtempSync(join(tmpdir(), 'bastion-named-files-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('relative paths are read from the config file’s directory and come back absolute', async () => {
  const leaf = await (await createTestCA()).issue(['127.0.0.1']);
  mkdirSync(join(dir, 'secrets'));
  writeFileSync(join(dir, 'secrets', 'tls.crt'), leaf.cert);
  writeFileSync(join(dir, 'secrets', 'tls.key'), leaf.key);
  writeFileSync(join(dir, 'secrets', 'cookie'), ` ${'x'.repeat(32)}\n`);
  writeFileSync(join(dir, 'secrets', 'client'), 'client-secret\n');
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  writeFileSync(join(dir, 'secrets', 'signing.key'), key.export({ format: 'pem', type: 'pkcs8' }));
  const file = join(dir, 'bastion.yaml');
  writeFileSync(
    file,
    `kubernetes: none
listen: { tls: { certFile: secrets/tls.crt, keyFile: ./secrets/tls.key } }
authentication:
  oidc: { issuer: "https://login.example.com", clientID: c, clientSecretFile: secrets/client }
  session: { secretFile: secrets/cookie }
upstream: { assertion: { signingKeyFile: secrets/signing.key } }
logging: { audit: { file: logs/audit.log } }
`,
  );
  const config = await loadConfigFile(file, { env: {} });
  assert.equal(config.listen.tls?.certFile, join(dir, 'secrets', 'tls.crt'));
  assert.equal(config.listen.tls?.keyFile, join(dir, 'secrets', 'tls.key'));
  assert.equal(config.upstream.assertion.signingKeyFile, join(dir, 'secrets', 'signing.key'));
  assert.equal(config.logging.audit.file, join(dir, 'logs', 'audit.log'), 'where the gateway will write it');
  assert.equal(config.authentication.session?.secret, 'x'.repeat(32), 'read and trimmed');
  assert.equal(config.authentication.oidc?.clientSecret, 'client-secret');

  writeFileSync(join(dir, 'secrets', 'cookie'), 'short\n');
  await assert.rejects(
    loadConfigFile(file, { env: {} }),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.problems.length === 1 &&
      err.problems[0].path === 'authentication.session.secretFile' &&
      err.problems[0].message.startsWith(`${join(dir, 'secrets', 'cookie')} holds 5 characters`),
  );
});
