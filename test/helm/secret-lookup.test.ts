/**
 * A generated cookie secret and signing key survive `helm upgrade`: the chart reads
 * them back from the live Secret with `lookup`. Helm only looks up with a cluster,
 * so this renders with `--dry-run=server` against the fake API server, which
 * already holds the Secret an earlier install created (or not, for a first install).
 * Without a cluster the chart generates nothing: secret-without-cluster.test.ts.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import type { ISecret } from 'kubernetes-models/v1';
import { startFakeApiServer, type FakeApiServer } from '../support/fake-apiserver.js';
import { CHART, find, helm, NAMESPACE, RELEASE, skipWithoutHelm, valuesArgs, type KubeObject } from './helm-tool.js';
import { loadPodConfig } from './pod-config.js';

const SECRET_NAME = `${RELEASE}-kube-bastion`;
const liveCookie = 'cookie-secret-from-the-first-install-0123456789abcdef';
const liveKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
  format: 'pem',
  type: 'pkcs8',
}) as string;
/** Browser sign-in, so the gateway reads the cookie secret. */
const SIGN_IN = {
  'config.publicURL': 'https://bastion.example.com',
  'config.authentication.oidc.issuer': 'https://login.example.com',
  'config.authentication.oidc.clientID': 'kube-bastion',
  'secrets.oidcClientSecret': 'client-secret',
};
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('helm chart: generated secrets are kept across upgrades', { skip: skipWithoutHelm }, () => {
  let api: FakeApiServer;
  let kubeconfig: string;
  before(async () => {
    api = await startFakeApiServer();
    kubeconfig = api.writeKubeconfig();
  });
  after(() => api.stop());

  /** What `helm upgrade` would apply: rendered with lookups against the fake cluster. */
  async function renderAgainstCluster(set: Record<string, string | boolean> = SIGN_IN): Promise<KubeObject[]> {
    const result = await helm([
      'template',
      RELEASE,
      CHART,
      '--namespace',
      NAMESPACE,
      '--dry-run=server',
      '--kubeconfig',
      kubeconfig,
      // The fake server publishes no OpenAPI document; kube-schema.ts validates objects instead.
      '--disable-openapi-validation',
      // No secret values: what the chart generates and reads back is the point here.
      ...valuesArgs({ set, secretValues: false }),
    ]);
    assert.equal(result.code, 0, `helm template --dry-run=server failed:\n${result.stderr}`);
    return parseAllDocuments(result.stdout)
      .map((doc) => doc.toJS() as KubeObject | null)
      .filter((o): o is KubeObject => o !== null);
  }
  const secretData = (objects: KubeObject[]) => find<ISecret>(objects, 'Secret', SECRET_NAME).data ?? {};
  /** What the first `helm install` left: owned by this release, so helm may take it over. */
  const liveSecret = (data: Record<string, string>) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: SECRET_NAME,
      namespace: NAMESPACE,
      labels: { 'app.kubernetes.io/managed-by': 'Helm' },
      annotations: { 'meta.helm.sh/release-name': RELEASE, 'meta.helm.sh/release-namespace': NAMESPACE },
    },
    data,
  });

  test('with the Secret in the cluster, the cookie secret and signing key are reused byte for byte', async () => {
    api.upsert(liveSecret({ 'cookie-secret': b64(liveCookie), 'assertion-signing-key': b64(liveKey) }));
    try {
      const objects = await renderAgainstCluster();
      assert.equal(
        api.count({ verb: 'get', resource: 'secrets', name: SECRET_NAME, status: 200 }) > 0,
        true,
        'helm read the live Secret',
      );
      const data = secretData(objects);
      assert.equal(data['cookie-secret'], b64(liveCookie), 'the cookie secret is kept: sessions survive');
      assert.equal(data['assertion-signing-key'], b64(liveKey), 'the signing key is kept: upstreams trust it');
      const { config } = await loadPodConfig(objects);
      assert.equal(config.authentication.session?.secret, liveCookie, 'the pod reads the kept secret');
    } finally {
      api.remove('secrets', NAMESPACE, SECRET_NAME);
    }
  });

  test('without it (a first install), fresh values are generated: a long cookie secret and a P-256 key the gateway reads', async () => {
    const objects = await renderAgainstCluster();
    assert.ok(
      api.count({ verb: 'list', resource: 'secrets', status: 200 }) > 0,
      'the chart asked the cluster whether it can look up at all',
    );
    const data = secretData(objects);
    const cookie = Buffer.from(data['cookie-secret'] ?? '', 'base64').toString();
    assert.equal(cookie.length, 48);
    assert.notEqual(cookie, liveCookie);
    assert.notEqual(data['assertion-signing-key'], b64(liveKey));
    const { config } = await loadPodConfig(objects); // reads the generated key with the gateway's parser
    assert.equal(config.authentication.session?.secret, cookie);
  });

  test('a key the config starts using is generated beside the kept ones', async () => {
    // Installed with neither sign-in nor sessions: the live Secret holds only the signing key.
    api.upsert(liveSecret({ 'assertion-signing-key': b64(liveKey) }));
    try {
      const data = secretData(await renderAgainstCluster());
      assert.equal(data['assertion-signing-key'], b64(liveKey), 'the signing key is kept');
      assert.equal(Buffer.from(data['cookie-secret'] ?? '', 'base64').toString().length, 48);
    } finally {
      api.remove('secrets', NAMESPACE, SECRET_NAME);
    }
  });

  test('a kept value stays in the Secret while its feature is off, so turning it back on changes nothing', async () => {
    api.upsert(liveSecret({ 'cookie-secret': b64(liveCookie), 'assertion-signing-key': b64(liveKey) }));
    try {
      const data = secretData(await renderAgainstCluster({ ...SIGN_IN, 'config.upstream.assertion.enabled': false }));
      assert.equal(data['cookie-secret'], b64(liveCookie));
      assert.equal(data['assertion-signing-key'], b64(liveKey));
    } finally {
      api.remove('secrets', NAMESPACE, SECRET_NAME);
    }
  });
});
