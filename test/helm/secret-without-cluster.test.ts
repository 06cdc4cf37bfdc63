/**
 * Rendering without a cluster — `helm template`, `helm install --dry-run=client`, and GitOps
 * tools that render that way (Argo CD) — `lookup` answers nothing, so a generated secret would
 * be new on every render: a new cookie secret signs everyone out, a new signing key changes the
 * JWKS, and the changed checksum rolls the pods on every sync. The chart refuses to generate
 * there and says what to set; with existingSecret or the values it renders the same every time.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ISecret } from 'kubernetes-models/v1';
import { CHART, find, helm, kinds, NAMESPACE, RELEASE, render, renderRaw, SECRET_VALUES, skipWithoutHelm, valuesArgs } from './helm-tool.js';
import { loadPodConfig } from './pod-config.js';

const SIGN_IN = {
  'config.publicURL': 'https://bastion.example.com',
  'config.authentication.oidc.issuer': 'https://login.example.com',
  'config.authentication.oidc.clientID': 'kube-bastion',
  'secrets.oidcClientSecret': 'client-secret',
};
const WHAT_TO_SET = /Set secrets\.existingSecret to a Secret you manage .*or render with --dry-run=server/;

describe('helm chart: no secret is invented where it cannot be read back', { skip: skipWithoutHelm }, () => {
  test('helm template with the defaults fails, saying why and what to set for the signing key', async () => {
    const result = await renderRaw({ secretValues: false });
    assert.notEqual(result.code, 0, 'a render without a cluster must not invent a signing key');
    assert.match(result.stderr, /rendering without cluster access \(helm template, --dry-run=client, Argo CD\)/);
    assert.match(result.stderr, /cannot read back the assertion signing key it generated before/);
    assert.match(result.stderr, /holding the key\(s\) assertion-signing-key, or set secrets\.assertionSigningKey/);
    assert.match(result.stderr, WHAT_TO_SET);
    assert.doesNotMatch(result.stderr, /cookie/, 'no sign-in configured: the cookie secret is not needed');
  });

  test('with sign-in it names the cookie secret too, under the configured key names', async () => {
    const result = await renderRaw({
      secretValues: false,
      set: { ...SIGN_IN, 'secrets.keys.cookieSecret': 'session' },
    });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /assertion signing key and session cookie secret/);
    assert.match(result.stderr, /signing everyone out/);
    assert.match(result.stderr, /the key\(s\) assertion-signing-key and session, or set secrets\.assertionSigningKey and secrets\.cookieSecret/);
  });

  test('helm install --dry-run=client is refused the same way', async () => {
    const result = await helm(['install', RELEASE, CHART, '--dry-run=client', '--namespace', NAMESPACE, ...valuesArgs({ secretValues: false })]);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, WHAT_TO_SET);
  });

  test('existingSecret: renders without a cluster, creates no Secret and mounts the named one', async () => {
    const options = { secretValues: false, valuesFiles: ['ci/existing-secret-values.yaml'] };
    const first = await renderRaw(options);
    assert.equal(first.code, 0, first.stderr);
    assert.equal((await renderRaw(options)).stdout, first.stdout, 'two renders are identical');
    const objects = await render(options);
    assert.ok(!kinds(objects).includes('Secret'));
    const { secretName, text } = await loadPodConfig(objects);
    assert.equal(secretName, 'bastion-credentials');
    assert.match(text, /secretFile: \/var\/run\/secrets\/kube-bastion\/cookie\n/);
    assert.match(text, /signingKeyFile: \/var\/run\/secrets\/kube-bastion\/signing-key\n/);
  });

  test('the values given: the Secret holds them and two renders are identical (no roll on every sync)', async () => {
    const options = { set: SIGN_IN }; // render() passes SECRET_VALUES
    const first = await renderRaw(options);
    assert.equal(first.code, 0, first.stderr);
    assert.equal((await renderRaw(options)).stdout, first.stdout, 'two renders are identical');
    const objects = await render(options);
    const data = find<ISecret>(objects, 'Secret').data ?? {};
    const decoded = (key: string) => Buffer.from(data[key] ?? '', 'base64').toString();
    assert.equal(decoded('cookie-secret'), SECRET_VALUES.cookieSecret);
    assert.equal(decoded('assertion-signing-key'), SECRET_VALUES.assertionSigningKey);
    const { config } = await loadPodConfig(objects);
    assert.equal(config.authentication.session?.secret, SECRET_VALUES.cookieSecret);
  });

  test('nothing to generate (no sign-in, assertion off): renders, and the Secret holds no generated key', async () => {
    const objects = await render({ secretValues: false, set: { 'config.upstream.assertion.enabled': false } });
    const secret = find<ISecret>(objects, 'Secret');
    assert.deepEqual(Object.keys(secret.data ?? {}), []);
    const { text } = await loadPodConfig(objects);
    assert.doesNotMatch(text, /signingKeyFile|secretFile/);
  });
});
