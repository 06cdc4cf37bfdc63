/**
 * The gateway's own kubeconfig credentials against the fake API server: an
 * exec plugin's token (reused until it expires, the plugin told what kubectl
 * tells it), client certificates named relative to the kubeconfig, and a
 * legacy auth-provider that is still handed to client-node.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { ApiClient, loadKubeConfig } from '../../src/kube/index.js';
import { service, startFakeApiServer, type FakeApiServer } from '../support/fake-apiserver.js';

const ttl = { podCacheTTL: 5000, nodeCacheTTL: 30000 };
const dir = mkdtempSync(join(tmpdir(), 'api-access-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The fake API server's kubeconfig with its user replaced. */
function withUser(api: FakeApiServer, name: string, user: Record<string, unknown>): string {
  const doc = parse(readFileSync(api.writeKubeconfig(), 'utf8')) as { users: unknown[] };
  doc.users = [{ name: 'gateway', user }];
  const file = join(dir, name);
  writeFileSync(file, stringify(doc));
  return file;
}

const listServices = (client: ApiClient) =>
  client.get<{ items: { metadata: { name: string } }[] }>('/api/v1/services');

describe('exec credential plugins', () => {
  let api: FakeApiServer;
  before(async () => (api = await startFakeApiServer({ objects: [service('team-a', 'web', [80])] })));
  after(() => api.stop());

  /** A plugin that logs each run (and the KUBERNETES_EXEC_INFO it got) and prints `status`. */
  function plugin(name: string, status: Record<string, unknown>, exitCode = 0) {
    const log = join(dir, `${name}.log`);
    writeFileSync(log, '');
    const script = `require('fs').appendFileSync(${JSON.stringify(log)}, process.env.KUBERNETES_EXEC_INFO + '\\n');
      process.stdout.write(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: ${JSON.stringify(status)} }));
      process.stderr.write('plugin says no'); process.exitCode = ${exitCode};`;
    const exec = {
      apiVersion: 'client.authentication.k8s.io/v1',
      command: process.execPath,
      args: ['-e', script],
    };
    const runs = () =>
      readFileSync(log, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { kind: string; spec: { interactive: boolean } });
    return { exec, runs };
  }

  test("the plugin's token is sent and reused until it expires", async () => {
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const { exec, runs } = plugin('valid', { token: api.token, expirationTimestamp: future });
    const client = new ApiClient(
      loadKubeConfig({ ...ttl, kubeconfig: withUser(api, 'exec-valid', { exec }) }),
    );
    const list = await listServices(client);
    assert.deepEqual(
      list.items.map((s) => s.metadata.name),
      ['web'],
    );
    await listServices(client);
    assert.equal(runs().length, 1, 'one run for two requests');
    assert.equal(runs()[0].kind, 'ExecCredential');
    assert.equal(runs()[0].spec.interactive, false);
  });

  test('an expired credential makes the plugin run again', async () => {
    const past = new Date(Date.now() - 1000).toISOString();
    const { exec, runs } = plugin('expired', { token: api.token, expirationTimestamp: past });
    const client = new ApiClient(
      loadKubeConfig({ ...ttl, kubeconfig: withUser(api, 'exec-expired', { exec }) }),
    );
    await listServices(client);
    await listServices(client);
    assert.equal(runs().length, 2);
  });

  test('a failing plugin fails the request with what it said', async () => {
    const { exec } = plugin('failing', {}, 3);
    const client = new ApiClient(
      loadKubeConfig({ ...ttl, kubeconfig: withUser(api, 'exec-fail', { exec }) }),
    );
    await assert.rejects(listServices(client), /exited 3: plugin says no/);
  });
});

test('client certificate files are read relative to the kubeconfig; basic auth and impersonation are set', async () => {
  const home = join(dir, 'certs-home');
  mkdirSync(join(home, 'pki'), { recursive: true });
  writeFileSync(join(home, 'pki/client.crt'), 'CERT');
  writeFileSync(join(home, 'pki/client.key'), 'KEY');
  const file = join(home, 'config');
  writeFileSync(
    file,
    stringify({
      clusters: [
        { name: 'c', cluster: { server: 'https://api.example:6443/', 'tls-server-name': 'kubernetes' } },
      ],
      users: [
        {
          name: 'u',
          user: {
            'client-certificate': 'pki/client.crt',
            'client-key': 'pki/client.key',
            username: 'admin',
            password: 'secret',
            as: 'someone',
          },
        },
      ],
      contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'ctx',
    }),
  );
  const access = loadKubeConfig({ ...ttl, kubeconfig: file });
  assert.equal(access.getCurrentCluster()?.server, 'https://api.example:6443');
  const opts: https.RequestOptions = {};
  await access.applyToHTTPSOptions(opts);
  assert.equal(String(opts.cert), 'CERT');
  assert.equal(String(opts.key as Buffer), 'KEY');
  assert.equal(opts.servername, 'kubernetes');
  assert.equal(opts.auth, 'admin:secret');
  assert.equal((opts.headers as Record<string, string>)['Impersonate-User'], 'someone');
});

describe('legacy auth-provider plugins', () => {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  // An unexpired id-token: client-node's oidc provider sends it as it is, without asking the issuer.
  const idToken = `${b64({ alg: 'none' })}.${b64({ exp: Math.floor(Date.now() / 1000) + 3600 })}.sig`;
  let api: FakeApiServer;
  before(
    async () =>
      (api = await startFakeApiServer({ token: idToken, objects: [service('team-a', 'web', [80])] })),
  );
  after(() => api.stop());

  test('an oidc auth-provider still works, through client-node', async () => {
    const user = {
      'auth-provider': { name: 'oidc', config: { 'id-token': idToken, 'client-id': 'kubectl' } },
    };
    const client = new ApiClient(loadKubeConfig({ ...ttl, kubeconfig: withUser(api, 'oidc', user) }));
    const list = await listServices(client);
    assert.deepEqual(
      list.items.map((s) => s.metadata.name),
      ['web'],
    );
  });
});
