/**
 * A generated cookie secret and signing key survive `helm upgrade`: the chart reads
 * them back from the live Secret with `lookup`. Helm only looks up with a cluster,
 * so this renders with `--dry-run=server` against the fake API server, which
 * already holds the Secret an earlier install created.
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
  async function renderAgainstCluster(): Promise<KubeObject[]> {
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
      ...valuesArgs({ set: SIGN_IN }),
    ]);
    assert.equal(result.code, 0, `helm template --dry-run=server failed:\n${result.stderr}`);
    return parseAllDocuments(result.stdout)
      .map((doc) => doc.toJS() as KubeObject | null)
      .filter((o): o is KubeObject => o !== null);
  }
  const secretData = (objects: KubeObject[]) => find<ISecret>(objects, 'Secret', SECRET_NAME).data ?? {};

  test('with the Secret in the cluster, the cookie secret and signing key are reused byte for byte', async () => {
    api.upsert({
      apiVersion: 'v1',
      kind: 'Secret',
      // What the first `helm install` left: owned by this release, so helm may take it over.
      metadata: {
        name: SECRET_NAME,
        namespace: NAMESPACE,
        labels: { 'app.kubernetes.io/managed-by': 'Helm' },
        annotations: { 'meta.helm.sh/release-name': RELEASE, 'meta.helm.sh/release-namespace': NAMESPACE },
      },
      data: { 'cookie-secret': b64(liveCookie), 'assertion-signing-key': b64(liveKey) },
    });
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

  test('without it (a first install), fresh values are generated', async () => {
    const data = secretData(await renderAgainstCluster());
    const cookie = Buffer.from(data['cookie-secret'] ?? '', 'base64').toString();
    assert.equal(cookie.length, 48);
    assert.notEqual(cookie, liveCookie);
    assert.notEqual(data['assertion-signing-key'], b64(liveKey));
  });
});

