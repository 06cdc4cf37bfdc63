/**
 * docs/ci.md must stay true: its gateway configuration is valid, and its
 * claim mappings turn a real-shaped GitHub Actions token into the user and
 * groups the page promises (and refuse another organization's token).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import { ClaimError, compileClaimMapper } from '../../src/authn/claims/mapping.js';
import { parseConfig } from '../../src/config/load.js';

const page = readFileSync(new URL('../../docs/ci.md', import.meta.url), 'utf8');
const yamlBlocks = [...page.matchAll(/```yaml\n([\s\S]*?)```/g)].map(
  (m) => parse(m[1]) as Record<string, unknown>,
);

const githubClaims = {
  iss: 'https://token.actions.githubusercontent.com',
  aud: 'kube-bastion',
  sub: 'repo:acme/deploy-tools:ref:refs/heads/main',
  repository: 'acme/deploy-tools',
  repository_owner: 'acme',
  repository_owner_id: '1234567',
  ref: 'refs/heads/main',
  ref_protected: 'true',
};

test('the gateway configuration on the page is valid', () => {
  const config = parseConfig(yamlBlocks[0], { env: {} });
  assert.equal(config.authentication.jwt[0].issuer.url, 'https://token.actions.githubusercontent.com');
  parseConfig(
    {
      kubernetes: {},
      ...yamlBlocks.find((b) => 'authentication' in b && JSON.stringify(b).includes('serviceAccountTokens')),
    },
    { env: {} },
  );
});

test('its mappings give the user and groups the page shows, and refuse other organizations', () => {
  const entry = parseConfig(yamlBlocks[0], { env: {} }).authentication.jwt[0];
  const map = compileClaimMapper({
    ...entry,
    mappings: entry.claimMappings,
    issuerURL: entry.issuer.url,
    path: 'authentication.jwt[0]',
  });
  const user = map(githubClaims);
  assert.equal(user.username, 'github:acme/deploy-tools:refs/heads/main');
  assert.deepEqual(user.groups, ['github:acme', 'github:acme/deploy-tools']);
  assert.match(
    page,
    /"username":"github:acme\/deploy-tools:refs\/heads\/main","groups":\["github:acme","github:acme\/deploy-tools","system:authenticated"\]/,
  );
  assert.throws(() => map({ ...githubClaims, repository_owner: 'evil' }), ClaimError);
  assert.throws(() => map({ ...githubClaims, repository_owner_id: '666' }), /not from the acme organization/);
});

test('the workflow asks for the kube-bastion audience and has id-token: write', () => {
  const workflow = yamlBlocks.find((b) => 'jobs' in b)!;
  assert.equal((workflow.permissions as Record<string, string>)['id-token'], 'write');
  assert.match(JSON.stringify(workflow), /audience=kube-bastion/);
});
