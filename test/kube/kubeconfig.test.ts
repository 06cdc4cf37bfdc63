/**
 * Where the gateway's Kubernetes credentials come from: an explicit file and
 * context, the pod's service account, $KUBECONFIG, ~/.kube/config — and a
 * clear error, not a silent localhost:8080, when there are none.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type https from 'node:https';
import { delimiter, join } from 'node:path';
import { after, test } from 'node:test';
import { stringify } from 'yaml';
import { KubeConfigError, loadKubeConfig } from '../../src/kube/index.js';

const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const ttl = { podCacheTTL: 5000, nodeCacheTTL: 30000 };

function kubeconfig(file: string, contexts: Record<string, string>, current?: string): string {
  const path = join(dir, file);
  writeFileSync(
    path,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: Object.entries(contexts).map(([name, server]) => ({ name, cluster: { server } })),
      users: [{ name: 'u', user: { token: 't' } }],
      contexts: Object.keys(contexts).map((name) => ({ name, context: { cluster: name, user: 'u' } })),
      'current-context': current,
    }),
  );
  return path;
}

const server = (kc: ReturnType<typeof loadKubeConfig>) => kc.getCurrentCluster()?.server;

test('an explicit kubeconfig file is used, with its current context or the one named', () => {
  const file = kubeconfig(
    'explicit',
    { prod: 'https://prod.example:6443', dev: 'https://dev.example:6443' },
    'prod',
  );
  assert.equal(
    server(loadKubeConfig({ ...ttl, kubeconfig: file }, { env: {} })),
    'https://prod.example:6443',
  );
  assert.equal(
    server(loadKubeConfig({ ...ttl, kubeconfig: file, context: 'dev' }, { env: {} })),
    'https://dev.example:6443',
  );
});

test('a context that does not exist is an error naming it', () => {
  const file = kubeconfig('ctx', { prod: 'https://prod.example:6443' }, 'prod');
  assert.throws(
    () => loadKubeConfig({ ...ttl, kubeconfig: file, context: 'staging' }, { env: {} }),
    (err: Error) => err instanceof KubeConfigError && /no context "staging"/.test(err.message),
  );
});

test('inside a pod the service account is used', () => {
  const prefix = join(dir, 'pod');
  const sa = join(prefix, 'var/run/secrets/kubernetes.io/serviceaccount');
  mkdirSync(sa, { recursive: true });
  writeFileSync(join(sa, 'token'), 'sa-token');
  writeFileSync(join(sa, 'ca.crt'), 'not used here');
  writeFileSync(join(sa, 'namespace'), 'bastion');
  // The client reads the service host and port from process.env itself.
  const vars = {
    KUBERNETES_SERVICE_HOST: '10.96.0.1',
    KUBERNETES_SERVICE_PORT: '443',
    KUBECONFIG: '/nonexistent',
  };
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  let kc;
  try {
    kc = loadKubeConfig(ttl, { serviceAccountPrefix: prefix });
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
  assert.equal(server(kc), 'https://10.96.0.1:443');
});

test('inside a pod the service account token is sent, and read again once it rotates', async () => {
  const prefix = join(dir, 'pod-rotate');
  const sa = join(prefix, 'var/run/secrets/kubernetes.io/serviceaccount');
  mkdirSync(sa, { recursive: true });
  writeFileSync(join(sa, 'token'), 'first-token\n');
  writeFileSync(join(sa, 'ca.crt'), 'the cluster CA');
  let now = 0;
  const env = { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '6443' };
  const access = loadKubeConfig(ttl, { env, serviceAccountPrefix: prefix, now: () => now });
  assert.equal(server(access), 'https://[fd00::1]:6443');
  const applied = async () => {
    const opts: https.RequestOptions = {};
    await access.applyToHTTPSOptions(opts);
    return opts;
  };
  const first = await applied();
  assert.equal((first.headers as Record<string, string>).Authorization, 'Bearer first-token');
  assert.equal(String(first.ca), 'the cluster CA');
  writeFileSync(join(sa, 'token'), 'second-token');
  now += 30_000;
  assert.equal(((await applied()).headers as Record<string, string>).Authorization, 'Bearer first-token');
  now += 31_000;
  assert.equal(((await applied()).headers as Record<string, string>).Authorization, 'Bearer second-token');
});

test('with several $KUBECONFIG files the first to name a context, cluster or current-context wins', () => {
  const first = kubeconfig('merge-1', { a: 'https://a-first.example:6443' }, 'a');
  const second = kubeconfig(
    'merge-2',
    { a: 'https://a-second.example:6443', b: 'https://b.example:6443' },
    'b',
  );
  const env = { KUBECONFIG: [first, second].join(delimiter) };
  assert.equal(server(loadKubeConfig(ttl, { env, home: '/nonexistent' })), 'https://a-first.example:6443');
  assert.equal(
    server(loadKubeConfig({ ...ttl, context: 'b' }, { env, home: '/nonexistent' })),
    'https://b.example:6443',
  );
});

test('outside a pod $KUBECONFIG comes first, then ~/.kube/config', () => {
  const file = kubeconfig('env', { env: 'https://env.example:6443' }, 'env');
  assert.equal(
    server(loadKubeConfig(ttl, { env: { KUBECONFIG: file }, home: '/nonexistent' })),
    'https://env.example:6443',
  );
  const home = join(dir, 'home');
  mkdirSync(join(home, '.kube'), { recursive: true });
  kubeconfig('home/.kube/config', { home: 'https://home.example:6443' }, 'home');
  assert.equal(server(loadKubeConfig(ttl, { env: {}, home })), 'https://home.example:6443');
});

test('with nothing to go on, the error says what was looked for', () => {
  assert.throws(
    () => loadKubeConfig(ttl, { env: {}, home: join(dir, 'empty-home') }),
    (err: Error) => err instanceof KubeConfigError && /\$KUBECONFIG is unset/.test(err.message),
  );
});

test('an unreadable kubeconfig is a KubeConfigError', () => {
  assert.throws(
    () => loadKubeConfig({ ...ttl, kubeconfig: join(dir, 'missing') }, { env: {} }),
    KubeConfigError,
  );
});
