/**
 * docs/configuration.md is generated from the config schema; these tests keep it
 * current and make sure what it shows is what the gateway accepts.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { compileClaimMapper } from '../../src/authn/claims/mapping.js';
import { loadConfig } from '../../src/config/load.js';
import { configSchema, type JwtIssuerConfig } from '../../src/config/schema.js';
import {
  CONFIG_DOC,
  configJSONSchema,
  exampleAt,
  exampleConfig,
  referenceSections,
  renderConfigReference,
} from '../../scripts/gen-config-docs.js';

const doc = readFileSync(CONFIG_DOC, 'utf8');

test('docs/configuration.md matches the config schema (else run `npm run docs:config`)', () => {
  assert.ok(
    doc === renderConfigReference(),
    'docs/configuration.md is stale: run `npm run docs:config` and commit the result',
  );
});

/** Every leaf key path in the schema, e.g. `listen.shutdown.delay`, `authentication.jwt[].issuer.url`. */
function leafKeys(schema: ReturnType<typeof configJSONSchema>, prefix = ''): string[] {
  const branches = schema.anyOf ?? [schema];
  return branches.flatMap((branch) => {
    const node = branch.type === 'array' && branch.items ? branch.items : branch;
    const path = branch.type === 'array' && branch.items ? `${prefix}[]` : prefix;
    if (node.anyOf) return leafKeys(node, path);
    if (!node.properties) return prefix ? [prefix] : [];
    return Object.entries(node.properties).flatMap(([k, child]) =>
      leafKeys(child, path ? `${path}.${k}` : k),
    );
  });
}

test('every config key appears in the reference with its default', () => {
  const keys = [...new Set(leafKeys(configJSONSchema()))];
  assert.ok(keys.length > 80, `expected the whole schema, found ${keys.length} keys`);
  const missing = keys.filter((k) => !doc.includes(`| \`${k}\``));
  assert.deepEqual(missing, []);
  assert.match(doc, /\| `listen\.port` \| integer 0–65535 \| `8080` \| public port \|/);
  assert.match(doc, /\| `listen\.shutdown\.delay` \| duration \| `"5s"` \|/);
  assert.match(doc, /\| `authorization\.nodeProxy` \| boolean \| `false` \|/);
  assert.match(doc, /\| `authentication\.jwt\[\]\.issuer\.url` \*\*\(required\)\*\* \|/);
});

/** The key and Description cell of every table row, as the reader sees them. */
function documentedRows(): Array<{ key: string; description: string }> {
  return doc.split('\n').flatMap((line) => {
    const key = /^\| `([^`]+)`/.exec(line)?.[1];
    if (key === undefined) return [];
    const cells = line.split(/(?<!\\)\|/); // cell() escapes the pipes inside a cell
    return [{ key, description: cells.at(-2)!.trim() }];
  });
}

test('every key in the reference says what it does', () => {
  const rows = documentedRows();
  const leaves = new Set(leafKeys(configJSONSchema()));
  assert.equal(rows.filter((r) => leaves.has(r.key)).length, leaves.size, 'every leaf key has a row');
  // duration() carries a generic fallback ("duration such as ..."): it says nothing about the key.
  const undescribed = rows
    .filter((r) => r.description === '' || r.description.startsWith('duration such as'))
    .map((r) => r.key);
  assert.deepEqual(undescribed, [], 'describe these keys in src/config/schema.ts');
});

/** Every row of the reference as the generator sees it, examples included. */
const referenceRows = () => referenceSections().flatMap(([, , rows]) => rows);

/** What the bearer authenticator builds for an issuer; this is where CEL is parsed. */
const mapperFor = (entry: JwtIssuerConfig, path: string) =>
  compileClaimMapper({
    mappings: entry.claimMappings,
    claimValidationRules: entry.claimValidationRules,
    userValidationRules: entry.userValidationRules,
    issuerURL: entry.issuer.url,
    path,
  });

test('every example in the reference is accepted by the schema, CEL included', () => {
  const rows = referenceRows().filter((r) => r.examples.length > 0);
  const shown = rows.map((r) => r.key);
  for (const key of [
    'listen.tls',
    'authentication.oidc',
    'authentication.jwt',
    'authentication.session',
    'authorization.namespaces',
    'authorization.rules',
    'authorization.kubernetesRBAC',
    'routing.hostSuffix',
    'routing.routes',
    'upstream',
    'upstream.identityHeaders',
    'upstream.assertion',
    'logging',
  ]) {
    assert.ok(shown.includes(key), `${key} has an example`);
    assert.ok(doc.includes(`of \`${key}\`:\n\n\`\`\`yaml\n`), `the reference shows the example of ${key}`);
  }
  // Browser sign-in needs its session (a rule across keys): give the oidc example one.
  const withSession = (config: Record<string, { oidc?: unknown; session?: unknown }>) =>
    config.authentication?.oidc && !config.authentication.session
      ? { ...config, authentication: { ...config.authentication, session: { secret: 's'.repeat(32) } } }
      : config;
  for (const row of rows) {
    for (const example of row.examples) {
      const result = configSchema.safeParse(withSession(exampleAt(row.key, example) as never));
      assert.ok(result.success, `example of ${row.key}: ${result.error?.message}`);
      // CEL is parsed when the authenticators are built: compile it so an example cannot hold a typo.
      const { jwt, oidc } = result.data.authentication;
      jwt.forEach((entry, i) => mapperFor(entry, `authentication.jwt[${i}]`));
      if (oidc) compileClaimMapper({ mappings: oidc.claimMappings, issuerURL: oidc.issuer, path: 'oidc' });
    }
  }
});

test('the CEL claim mappings in the reference map a token as they promise', () => {
  const issuers = referenceRows().find((r) => r.key === 'authentication.jwt')!.examples[0];
  const config = configSchema.parse(exampleAt('authentication.jwt', issuers));
  const sso = config.authentication.jwt.find((e) => e.claimMappings.username.expression !== undefined);
  assert.ok(sso, 'the jwt example shows claim mappings by expression');
  const map = mapperFor(sso, 'authentication.jwt[1]');
  const user = map({ preferred_username: 'ana', groups: ['dev', 'ops'], tenant: 'example' });
  assert.equal(user.username, 'sso:ana');
  assert.deepEqual(user.groups, ['sso:dev', 'sso:ops']);
  assert.deepEqual(user.extra, { 'example.com/tenant': ['example'] });
  assert.throws(
    () => map({ preferred_username: 'eve', groups: [], tenant: 'other' }),
    /only the example tenant/,
  );
});

test('the example in the reference is a valid config file', () => {
  const block = /## Example\n\n```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
  assert.ok(block, 'the reference has an Example section');
  assert.deepEqual(parse(block), exampleConfig);
  const files = JSON.stringify(exampleConfig).match(/"[A-Za-z]+File":"[^"]+"/g) ?? [];
  assert.ok(files.length >= 2, 'the example shows secrets as files');
  // The ...File secrets and the signing key are read at load time; mount them in a temporary directory.
  const dir = mkdtempSync(join(tmpdir(), 'kube-bastion-docs-'));
  try {
    writeFileSync(join(dir, 'oidc-client-secret'), 'client-secret');
    writeFileSync(join(dir, 'cookie-secret'), 'c'.repeat(32));
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    writeFileSync(join(dir, 'assertion-signing-key'), key.export({ format: 'pem', type: 'pkcs8' }));
    const config = loadConfig(parse(block.replaceAll('/var/run/secrets/kube-bastion', dir)), { env: {} });
    assert.equal(config.authentication.oidc?.clientSecret, 'client-secret');
    assert.equal(config.authentication.jwt[0]?.issuer.url, 'https://token.actions.githubusercontent.com');
    assert.equal(config.listen.shutdown.delay, 5000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
