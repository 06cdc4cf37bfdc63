/**
 * The chart as an admin installs it: every CI values file lints, renders objects the
 * Kubernetes schemas accept, and gives the pod a config the gateway itself accepts.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { IDeployment } from 'kubernetes-models/apps/v1';
import type { IClusterRole, IClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import type { IIngress, INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import type { IService } from 'kubernetes-models/v1';
import {
  CHART,
  find,
  helm,
  kinds,
  render,
  renderRaw,
  RELEASE,
  skipWithoutHelm,
  valuesArgs,
  type KubeObject,
  type RenderOptions,
} from './helm-tool.js';
import { validateAll } from './kube-schema.js';
import { container, loadPodConfig, podSpec } from './pod-config.js';

const PUBLIC_SERVICE = `${RELEASE}-kube-bastion`;
const ADMIN_SERVICE = `${RELEASE}-kube-bastion-admin`;

const CI_FILES = readdirSync(join(CHART, 'ci'))
  .filter((f) => f.endsWith('-values.yaml'))
  .map((f) => `ci/${f}`);

describe('helm chart: every CI values file', { skip: skipWithoutHelm }, () => {
  test('there are CI values files for the documented scenarios', () => {
    for (const scenario of [
      'defaults',
      'ingress-tls',
      'existing-secret',
      'hpa-pdb',
      'network-policy',
      'host-routing',
    ]) {
      assert.ok(CI_FILES.includes(`ci/${scenario}-values.yaml`), `missing ci/${scenario}-values.yaml`);
    }
  });

  for (const file of CI_FILES) {
    test(`${file}: helm lint --strict passes`, async () => {
      const result = await helm(['lint', '--strict', CHART, ...valuesArgs({ valuesFiles: [file] })]);
      assert.equal(result.code, 0, `helm lint failed:\n${result.stdout}\n${result.stderr}`);
      assert.match(result.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    });

    test(`${file}: every object matches the Kubernetes schema and the pod's config loads`, async () => {
      const objects = await render({ valuesFiles: [file] });
      assert.deepEqual(await validateAll(objects), []);
      const { config } = await loadPodConfig(objects);
      const c = container(objects);
      const port = (name: string) => c.ports?.find((p) => p.name === name)?.containerPort;
      assert.equal(port('http'), config.listen.port, 'the container port is the port the gateway listens on');
      assert.equal(port('admin'), config.admin.port, 'probes and metrics target the admin listener');
    });
  }
});

describe('helm chart: the pod', { skip: skipWithoutHelm }, () => {
  test('runs under the restricted Pod Security Standard', async () => {
    const pod = podSpec(await render());
    const podContext = pod.securityContext!;
    assert.equal(podContext.runAsNonRoot, true);
    assert.ok(Number.isInteger(podContext.runAsUser) && podContext.runAsUser! > 0, 'numeric non-root UID');
    assert.equal(podContext.seccompProfile?.type, 'RuntimeDefault');
    assert.equal(pod.hostNetwork ?? false, false);
    assert.equal(pod.hostPID ?? false, false);
    for (const c of pod.containers) {
      const sc = c.securityContext!;
      assert.equal(sc.allowPrivilegeEscalation, false);
      assert.equal(sc.readOnlyRootFilesystem, true);
      assert.equal(sc.privileged, false);
      assert.deepEqual(sc.capabilities?.drop, ['ALL']);
      assert.equal(sc.capabilities?.add, undefined);
      assert.equal(sc.seccompProfile?.type, 'RuntimeDefault');
    }
    const allowedVolumes = ['configMap', 'secret', 'emptyDir', 'projected', 'downwardAPI'];
    for (const v of pod.volumes ?? []) {
      const type = Object.keys(v).find((k) => k !== 'name')!;
      assert.ok(allowedVolumes.includes(type), `volume ${v.name} is a ${type}, not allowed under restricted`);
    }
  });

  test('two replicas spread across nodes and zones, probes on the admin port', async () => {
    const objects = await render();
    assert.equal(find<IDeployment>(objects, 'Deployment').spec?.replicas, 2);
    assert.deepEqual(
      podSpec(objects).topologySpreadConstraints?.map((t) => t.topologyKey),
      ['kubernetes.io/hostname', 'topology.kubernetes.io/zone'],
    );
    const c = container(objects);
    assert.deepEqual(c.livenessProbe?.httpGet, { path: '/healthz', port: 'admin' });
    assert.deepEqual(c.readinessProbe?.httpGet, { path: '/readyz', port: 'admin' });
    assert.deepEqual(c.args, ['serve', '--config', '/etc/kube-bastion/config.yaml']);
  });

  test('the termination grace period covers the configured shutdown delay and drain timeout', async () => {
    const grace = async (set: Record<string, string>) =>
      podSpec(await render({ set })).terminationGracePeriodSeconds;
    assert.equal(await grace({}), 5 + 30 + 5, 'defaults: 5s delay + 30s timeout + 5s slack');
    assert.equal(
      await grace({ 'config.listen.shutdown.delay': '1m30s', 'config.listen.shutdown.timeout': '250ms' }),
      90 + 1 + 5,
    );
  });

  test('a changed config rolls the pods (checksum annotation)', async () => {
    const checksum = async (level: string) => {
      const deployment = find<IDeployment>(
        await render({ set: { 'config.logging.level': level } }),
        'Deployment',
      );
      return deployment.spec?.template.metadata?.annotations?.['checksum/config'] ?? '';
    };
    assert.match(await checksum('info'), /^[a-f0-9]{64}$/);
    assert.notEqual(await checksum('info'), await checksum('debug'));
    assert.equal(await checksum('info'), await checksum('info'));
  });

  test('config.listen.port moves the container port; the Service keeps targeting it by name', async () => {
    const objects = await render({ set: { 'config.listen.port': 8443 } });
    assert.equal(container(objects).ports?.[0]?.containerPort, 8443);
    const service = find<IService>(objects, 'Service', PUBLIC_SERVICE);
    assert.deepEqual(
      service.spec?.ports?.map((p) => [p.name, p.port, p.targetPort]),
      [['http', 80, 'http']],
    );
  });
});

describe('helm chart: the admin port (/metrics, /healthz, /readyz) stays inside the cluster', { skip: skipWithoutHelm }, () => {
  const ports = (service: IService) => (service.spec?.ports ?? []).map((p) => [p.name, p.port, p.targetPort]);
  const exposures: Array<{ name: string; options: RenderOptions }> = [
    ...CI_FILES.map((file) => ({ name: file, options: { valuesFiles: [file] } })),
    { name: 'service.type LoadBalancer', options: { set: { 'service.type': 'LoadBalancer' } } },
    { name: 'service.type NodePort', options: { set: { 'service.type': 'NodePort' } } },
    {
      name: 'admin and listen on other ports',
      options: { set: { 'config.admin.port': 9443, 'config.listen.port': 8443, 'service.type': 'LoadBalancer' } },
    },
  ];

  for (const { name, options } of exposures) {
    test(`${name}: the public Service carries only the public listener`, async () => {
      const objects = await render(options);
      const c = container(objects);
      const adminPort = c.ports?.find((p) => p.name === 'admin')?.containerPort;
      const publicService = find<IService>(objects, 'Service', PUBLIC_SERVICE);
      for (const port of publicService.spec?.ports ?? []) {
        assert.notEqual(port.targetPort, 'admin', `${port.name} targets the admin port`);
        assert.notEqual(port.targetPort, adminPort, `${port.name} targets the admin port by number`);
      }
      assert.deepEqual(ports(publicService).map(([n, , target]) => [n, target]), [['http', 'http']]);
      // Whatever the public Service's type, the admin one is ClusterIP and carries only the admin port.
      const admin = find<IService>(objects, 'Service', ADMIN_SERVICE);
      assert.equal(admin.spec?.type, 'ClusterIP');
      assert.deepEqual(ports(admin), [['admin', 9090, 'admin']]);
      // The probes reach the container port itself, by name.
      assert.equal(c.livenessProbe?.httpGet?.port, 'admin');
      assert.equal(c.readinessProbe?.httpGet?.port, 'admin');
    });
  }

  test('Ingress and HTTPRoute send traffic only to the public Service\'s http port', async () => {
    const objects = await render({ valuesFiles: ['ci/host-routing-values.yaml'] });
    const ingress = find<IIngress>(objects, 'Ingress');
    const backends = ingress.spec?.rules?.flatMap((r) => r.http?.paths.map((p) => p.backend.service)) ?? [];
    assert.ok(backends.length > 0);
    for (const backend of backends) assert.deepEqual(backend, { name: PUBLIC_SERVICE, port: { name: 'http' } });
    const route = find<{ spec: { rules: { backendRefs: unknown[] }[] } }>(objects, 'HTTPRoute');
    assert.deepEqual(
      route.spec.rules.flatMap((r) => r.backendRefs),
      [{ name: PUBLIC_SERVICE, port: 80 }],
    );
  });

  test('the NetworkPolicy admits the admin port only from the metrics selector', async () => {
    const policy = find<INetworkPolicy>(
      await render({ valuesFiles: ['ci/network-policy-values.yaml'] }),
      'NetworkPolicy',
    ).spec!;
    const toAdmin = (policy.ingress ?? []).filter((rule) => rule.ports?.some((p) => p.port === 'admin'));
    assert.deepEqual(
      toAdmin.map((rule) => [rule.from, rule.ports]),
      [
        [
          [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } }, podSelector: {} }],
          [{ port: 'admin', protocol: 'TCP' }],
        ],
      ],
    );
    for (const rule of policy.ingress ?? []) {
      assert.ok(rule.ports?.length, 'no ingress rule admits every port');
    }
  });

  test('the ServiceMonitor selects the admin Service and not the public one', async () => {
    const objects = await render({ valuesFiles: ['ci/network-policy-values.yaml'] });
    type Monitor = { spec: { selector: { matchLabels: Record<string, string> } } };
    const selector = find<Monitor>(objects, 'ServiceMonitor').spec.selector.matchLabels;
    const selects = (service: KubeObject) =>
      Object.entries(selector).every(([k, v]) => service.metadata.labels?.[k] === v);
    assert.equal(selects(find(objects, 'Service', ADMIN_SERVICE)), true);
    assert.equal(selects(find(objects, 'Service', PUBLIC_SERVICE)), false);
  });

  test('adminService.enabled false: no admin Service; a ServiceMonitor then asks for it', async () => {
    const objects = await render({ set: { 'adminService.enabled': false } });
    assert.deepEqual(
      objects.filter((o) => o.kind === 'Service').map((o) => o.metadata.name),
      [PUBLIC_SERVICE],
    );
    const refused = await renderRaw({ set: { 'adminService.enabled': false, 'serviceMonitor.enabled': true } });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /serviceMonitor\.enabled scrapes the admin Service: set adminService\.enabled/);
  });
});

describe('helm chart: RBAC is least privilege', { skip: skipWithoutHelm }, () => {
  const rules = (objects: KubeObject[]) =>
    (find<IClusterRole>(objects, 'ClusterRole').rules ?? []).map(
      (r) => `${r.apiGroups?.join(',')}/${r.resources?.join(',')}:${r.verbs.join(',')}`,
    );

  test('default: read services, endpointslices and pods; ask SubjectAccessReviews; nothing else', async () => {
    assert.deepEqual(rules(await render()), [
      '/services:list,watch',
      'discovery.k8s.io/endpointslices:list,watch',
      '/pods:get',
      'authorization.k8s.io/subjectaccessreviews:create',
    ]);
  });

  test('TokenReviews only with serviceAccountTokens, nodes only with nodeProxy', async () => {
    const all = rules(
      await render({
        set: {
          'config.authentication.serviceAccountTokens.enabled': true,
          'config.authorization.nodeProxy': true,
        },
      }),
    );
    assert.ok(all.includes('authentication.k8s.io/tokenreviews:create'));
    assert.ok(all.includes('/nodes:get'));
    const none = rules(await render({ set: { 'config.authorization.kubernetesRBAC.enabled': false } }));
    assert.ok(
      !none.some(
        (r) => r.includes('subjectaccessreviews') || r.includes('tokenreviews') || r.includes('nodes'),
      ),
    );
  });

  test('no rule ever grants secrets, wildcards, impersonation or proxy subresources', async () => {
    for (const file of CI_FILES) {
      for (const rule of rules(await render({ valuesFiles: [file] }))) {
        assert.doesNotMatch(rule, /\*|secrets|impersonate|\/proxy|escalate|bind/, `${file}: ${rule}`);
      }
    }
  });

  test('kubernetes: none needs no ClusterRole and mounts no token', async () => {
    const objects = await render({ set: { 'config.kubernetes': 'none' } });
    assert.ok(!kinds(objects).includes('ClusterRole'));
    assert.equal(podSpec(objects).automountServiceAccountToken, false);
  });

  test('the binding names the chart ServiceAccount in the release namespace', async () => {
    const objects = await render();
    const binding = find<IClusterRoleBinding>(objects, 'ClusterRoleBinding');
    const sa = find(objects, 'ServiceAccount');
    assert.deepEqual(binding.subjects, [
      { kind: 'ServiceAccount', name: sa.metadata.name, namespace: 'bastion-system' },
    ]);
    assert.equal(binding.roleRef.name, find(objects, 'ClusterRole').metadata.name);
    assert.equal(podSpec(objects).serviceAccountName, sa.metadata.name);
  });
});
