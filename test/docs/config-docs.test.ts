/**
 * docs/configuration.md is generated from the config schema; these tests keep it
 * current and make sure what it shows is what the gateway accepts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import {
  CONFIG_DOC,
  configJSONSchema,
  exampleConfig,
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

test('the example in the reference is a valid config file', () => {
  const block = /## Example\n\n```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
  assert.ok(block, 'the reference has an Example section');
  assert.deepEqual(parse(block), exampleConfig);
  const files = JSON.stringify(exampleConfig).match(/"[A-Za-z]+File":"[^"]+"/g) ?? [];
  assert.ok(files.length >= 2, 'the example shows secrets as files');
  // The ...File secrets are read at load time; mount them in a temporary directory.
  const dir = mkdtempSync(join(tmpdir(), 'kube-bastion-docs-'));
  try {
    writeFileSync(join(dir, 'oidc-client-secret'), 'client-secret');
    writeFileSync(join(dir, 'cookie-secret'), 'c'.repeat(32));
    const config = parseConfig(parse(block.replaceAll('/var/run/secrets/kube-bastion', dir)));
    assert.equal(config.authentication.oidc?.clientSecret, 'client-secret');
    assert.equal(config.authentication.jwt[0]?.issuer.url, 'https://token.actions.githubusercontent.com');
    assert.equal(config.listen.shutdown.delay, 5000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
