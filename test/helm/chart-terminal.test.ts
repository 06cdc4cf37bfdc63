/**
 * What the chart gives terminal sign-in (`kube-bastion login`): with browser
 * sign-in on and cookie sessions (the default), a Role on Secrets in the
 * release namespace only — the state two replicas share — and a config that
 * names that namespace; none of it with Redis sessions, without a cluster,
 * or with the CLI turned off. The ClusterRole still grants no Secrets.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { IRole, IRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { find, render, skipWithoutHelm, type KubeObject } from './helm-tool.js';
import { validateAll } from './kube-schema.js';
import { loadPodConfig } from './pod-config.js';

const SIGN_IN = ['ci/ingress-tls-values.yaml'];
const roles = (objects: KubeObject[]) => objects.filter((o) => o.kind === 'Role' || o.kind === 'RoleBinding');

describe('helm chart: terminal sign-in state', { skip: skipWithoutHelm }, () => {
  test('browser sign-in with cookie sessions: a Role on Secrets in the release namespace, and the config says so', async () => {
    const objects = await render({ valuesFiles: SIGN_IN });
    assert.deepEqual(await validateAll(objects), []);
    const role = find<IRole>(objects, 'Role');
    assert.equal(role.metadata.namespace, 'bastion-system');
    assert.deepEqual(
      role.rules?.map((r) => [r.apiGroups, r.resources, r.verbs]),
      [[[''], ['secrets'], ['get', 'list', 'watch', 'create', 'update', 'delete']]],
    );
    const binding = find<IRoleBinding>(objects, 'RoleBinding');
    assert.equal(binding.roleRef.name, role.metadata.name);
    assert.deepEqual(binding.subjects, [
      { kind: 'ServiceAccount', name: find(objects, 'ServiceAccount').metadata.name, namespace: 'bastion-system' },
    ]);
    const { config } = await loadPodConfig(objects);
    assert.equal(config.authentication.cli.kubernetes.namespace, 'bastion-system');
    assert.equal(config.authentication.cli.enabled, true);
  });

  test('another namespace for the state: the Role goes there', async () => {
    const objects = await render({
      valuesFiles: SIGN_IN,
      set: { 'config.authentication.cli.kubernetes.namespace': 'bastion-state' },
    });
    assert.equal(find(objects, 'Role').metadata.namespace, 'bastion-state');
    assert.equal(find(objects, 'RoleBinding').metadata.namespace, 'bastion-state');
  });

  test('no Secret access without browser sign-in, with Redis sessions, with the CLI off, or without a cluster', async () => {
    const cases: [string, Parameters<typeof render>[0]][] = [
      ['no sign-in', {}],
      [
        'redis sessions',
        {
          valuesFiles: SIGN_IN,
          set: { 'config.authentication.session.store': 'redis', 'config.authentication.session.redis.url': 'redis://redis:6379' },
        },
      ],
      ['cli off', { valuesFiles: SIGN_IN, set: { 'config.authentication.cli.enabled': false } }],
      ['cli in memory', { valuesFiles: SIGN_IN, set: { 'config.authentication.cli.store': 'memory' } }],
      ['no cluster', { valuesFiles: SIGN_IN, set: { 'config.kubernetes': 'none' } }],
    ];
    for (const [why, options] of cases) assert.deepEqual(roles(await render(options)), [], why);
  });
});
