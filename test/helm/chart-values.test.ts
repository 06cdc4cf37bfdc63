/**
 * What an admin's values do: secrets stay out of the ConfigMap, mistakes are
 * refused before anything is applied, and the optional objects appear when asked.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import type { IDeployment } from 'kubernetes-models/apps/v1';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import type { IIngress, INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1';
import type { IConfigMap } from 'kubernetes-models/v1';
import { renderValuesSchema, VALUES_SCHEMA } from '../../scripts/gen-config-docs.js';
import {
  CHART,
  find,
  helm,
  kinds,
  NAMESPACE,
  RELEASE,
  render,
  renderRaw,
  ROOT,
  skipWithoutHelm,
  valuesArgs,
  type KubeObject,
} from './helm-tool.js';
import { validateAll } from './kube-schema.js';
import { container, loadPodConfig, podSpec } from './pod-config.js';

const OIDC = {
  'config.publicURL': 'https://bastion.example.com',
  'config.authentication.oidc.issuer': 'https://login.example.com',
  'config.authentication.oidc.clientID': 'kube-bastion',
};

describe('helm chart: secrets', { skip: skipWithoutHelm }, () => {
  test('the client secret and cookie secret reach the pod as files, never through the ConfigMap', async () => {
    const clientSecret = 'client-secret-that-must-not-leak';
    const cookieSecret = 'cookie-secret-that-must-not-leak-0123456789';
    const objects = await render({
      set: { ...OIDC, 'secrets.oidcClientSecret': clientSecret, 'secrets.cookieSecret': cookieSecret },
    });
    const { config, text, secret, secretMountPath } = await loadPodConfig(objects);
    assert.equal(
      config.authentication.oidc?.clientSecret,
      clientSecret,
      'the gateway reads the mounted client secret',
    );
    assert.equal(config.authentication.session?.secret, cookieSecret);
    const configMap = JSON.stringify(find(objects, 'ConfigMap'));
    assert.ok(
      !configMap.includes(clientSecret) && !configMap.includes(cookieSecret),
      'no secret in the ConfigMap',
    );
    assert.ok(
      !JSON.stringify(find(objects, 'Deployment')).includes(clientSecret),
      'no secret in the pod spec',
    );
    assert.match(text, new RegExp(`clientSecretFile: ${secretMountPath}/oidc-client-secret`));
    assert.equal(secret?.type, 'Opaque');
    const mount = container(objects).volumeMounts?.find((m) => m.mountPath === secretMountPath);
    assert.equal(mount?.readOnly, true);
  });

  test('OIDC without a client secret is refused, naming the two places it can come from', async () => {
    const noClientSecret = await renderRaw({ set: OIDC });
    assert.notEqual(noClientSecret.code, 0);
    assert.match(
      noClientSecret.stderr,
      /put the client secret in secrets\.oidcClientSecret or secrets\.existingSecret/,
    );
  });

  test('existingSecret: no Secret is rendered and the pod mounts the named one with the configured keys', async () => {
    const objects = await render({ valuesFiles: ['ci/existing-secret-values.yaml'] });
    assert.ok(!kinds(objects).includes('Secret'));
    const { text, secretName } = await loadPodConfig(objects);
    assert.equal(secretName, 'bastion-credentials');
    assert.match(text, /clientSecretFile: \/var\/run\/secrets\/kube-bastion\/client-secret/);
    assert.match(text, /secretFile: \/var\/run\/secrets\/kube-bastion\/cookie/);
    assert.match(text, /signingKeyFile: \/var\/run\/secrets\/kube-bastion\/signing-key/);
  });

  test('an inline secret in config is refused (it would land in the ConfigMap); a ${ENV} reference is fine', async () => {
    const inline = await renderRaw({
      set: { ...OIDC, 'config.authentication.oidc.clientSecret': 'hunter2' },
    });
    assert.notEqual(inline.code, 0);
    assert.match(inline.stderr, /config\/authentication\/oidc\/clientSecret/);
    const skipped = await helm([
      'template',
      RELEASE,
      CHART,
      '--skip-schema-validation',
      ...valuesArgs({
        set: { 'config.authentication.session.secret': 'hunter2hunter2hunter2hunter2hunter2' },
      }),
    ]);
    assert.notEqual(skipped.code, 0, 'the template refuses it even without the schema');
    assert.match(skipped.stderr, /must not hold a secret inline/);
    const reference = await render({
      set: { ...OIDC, 'config.authentication.oidc.clientSecret': '${OIDC_SECRET}' },
    });
    assert.match(
      find<IConfigMap>(reference, 'ConfigMap').data?.['config.yaml'] ?? '',
      /clientSecret: \$\{OIDC_SECRET\}/,
    );
  });
});

describe('helm chart: mistakes are refused with a message naming the key', { skip: skipWithoutHelm }, () => {
  const refused = async (set: Record<string, string | number | boolean>, message: RegExp) => {
    const result = await renderRaw({ set });
    assert.notEqual(result.code, 0, `expected helm to refuse ${JSON.stringify(set)}`);
    assert.match(result.stderr, message);
  };

  test('a typo in a chart value or in a config key', async () => {
    await refused({ replicaCont: 3 }, /additional properties 'replicaCont' not allowed/);
    await refused({ 'ingress.hots': 'x' }, /at '\/ingress': additional properties 'hots'/);
    await refused(
      { 'config.authorization.namespace.allow': 'x' },
      /at '\/config\/authorization': additional properties 'namespace'/,
    );
  });

  test('a wrong type, an unknown enum value or a malformed duration', async () => {
    await refused({ 'config.logging.format': 'xml' }, /config\/logging\/format/);
    await refused({ 'config.listen.shutdown.delay': '5 seconds' }, /config\/listen\/shutdown\/delay/);
    await refused({ 'service.port': 'eighty' }, /service\/port/);
  });

  test('OIDC without a place for the redirect URI', async () => {
    await refused(
      {
        'config.authentication.oidc.issuer': 'https://login.example.com',
        'config.authentication.oidc.clientID': 'c',
        'secrets.oidcClientSecret': 's',
      },
      /set config\.publicURL \(or ingress\.host\)/,
    );
  });

  test('a short cookie secret', async () => {
    await refused({ 'secrets.cookieSecret': 'short' }, /secrets\/cookieSecret/);
  });
});

describe('helm chart: optional objects', { skip: skipWithoutHelm }, () => {
  test('a PodDisruptionBudget only when at least two pods run, so one replica never blocks a drain', async () => {
    const pdb = (objects: KubeObject[]) => find<IPodDisruptionBudget>(objects, 'PodDisruptionBudget').spec;
    const byDefault = pdb(await render());
    assert.equal(byDefault?.maxUnavailable, 1, 'default: one pod at a time');
    assert.equal(byDefault?.minAvailable, undefined, 'never minAvailable by default');
    assert.ok(!kinds(await render({ set: { replicaCount: 1 } })).includes('PodDisruptionBudget'));
    assert.ok(
      !kinds(
        await render({ set: { 'autoscaling.enabled': true, 'autoscaling.minReplicas': 1 } }),
      ).includes('PodDisruptionBudget'),
      'an HPA that may scale to one pod gets no budget either',
    );
    const hpa = await render({ valuesFiles: ['ci/hpa-pdb-values.yaml'] });
    assert.equal(pdb(hpa)?.minAvailable, 2);
    assert.equal(find<IHorizontalPodAutoscaler>(hpa, 'HorizontalPodAutoscaler').spec?.minReplicas, 3);
    assert.equal(
      find<IDeployment>(hpa, 'Deployment').spec?.replicas,
      undefined,
      'the HPA owns the replica count',
    );
    assert.equal(podSpec(hpa).terminationGracePeriodSeconds, 15 + 60 + 5);
  });

  test('scheduling knobs, pull secrets and extra env/volumes land in the pod spec beside the chart\'s own', async () => {
    const objects = await render({ valuesFiles: ['ci/hpa-pdb-values.yaml'] });
    assert.deepEqual(await validateAll(objects), []);
    const pod = podSpec(objects);
    assert.equal(pod.priorityClassName, 'gateway-critical');
    assert.deepEqual(pod.tolerations, [
      { key: 'dedicated', operator: 'Equal', value: 'gateway', effect: 'NoSchedule' },
    ]);
    assert.deepEqual(
      pod.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms,
      [{ matchExpressions: [{ key: 'kubernetes.io/os', operator: 'In', values: ['linux'] }] }],
    );
    assert.deepEqual(pod.imagePullSecrets, [{ name: 'registry-credentials' }]);
    const c = container(objects);
    assert.deepEqual(
      c.env?.map((e) => e.name),
      ['POD_NAME', 'POD_NAMESPACE', 'HTTPS_PROXY', 'REDIS_PASSWORD'],
    );
    assert.equal(c.env?.find((e) => e.name === 'HTTPS_PROXY')?.value, 'http://proxy.example.com:3128');
    assert.deepEqual(c.env?.find((e) => e.name === 'REDIS_PASSWORD')?.valueFrom, {
      secretKeyRef: { name: 'redis', key: 'password' },
    });
    assert.deepEqual(c.envFrom, [{ configMapRef: { name: 'bastion-env' } }]);
    assert.deepEqual(
      pod.volumes?.find((v) => v.name === 'ca'),
      { name: 'ca', configMap: { name: 'upstream-ca' } },
    );
    assert.deepEqual(
      c.volumeMounts?.map((m) => m.name),
      ['config', 'secrets', 'tmp', 'ca'],
    );
    assert.deepEqual(c.volumeMounts?.at(-1), { name: 'ca', mountPath: '/etc/kube-bastion-ca', readOnly: true });
    await loadPodConfig(objects); // the chart's own config and secret mounts still work
  });

  test('a PodDisruptionBudget that would block drains is refused: maxUnavailable 0 or minAvailable of every pod', async () => {
    const refused = async (set: Record<string, string | number | boolean>, message: RegExp) => {
      const result = await renderRaw({ set });
      assert.notEqual(result.code, 0, `expected helm to refuse ${JSON.stringify(set)}`);
      assert.match(result.stderr, message);
    };
    await refused({ 'podDisruptionBudget.maxUnavailable': 0 }, /maxUnavailable 0 would block every node drain/);
    await refused({ 'podDisruptionBudget.minAvailable': 2 }, /minAvailable 2 keeps all 2 pods/);
    await refused(
      { 'podDisruptionBudget.minAvailable': '60%' },
      /minAvailable 60% keeps all 2 pods/, // rounded up: 2 of 2
    );
    await refused(
      { 'autoscaling.enabled': true, 'autoscaling.minReplicas': 3, 'podDisruptionBudget.minAvailable': 3 },
      /minAvailable 3 keeps all 3 pods/,
    );
    const half = await render({ set: { 'podDisruptionBudget.minAvailable': '50%' } });
    assert.equal(find<IPodDisruptionBudget>(half, 'PodDisruptionBudget').spec?.minAvailable, '50%');
  });

  test('Ingress with TLS and class; publicURL follows the host', async () => {
    const objects = await render({ valuesFiles: ['ci/ingress-tls-values.yaml'] });
    const ingress = find<IIngress>(objects, 'Ingress').spec!;
    assert.equal(ingress.ingressClassName, 'nginx');
    assert.deepEqual(ingress.tls, [{ secretName: 'bastion-tls', hosts: ['bastion.example.com'] }]);
    assert.deepEqual(
      ingress.rules?.map((r) => r.host),
      ['bastion.example.com'],
    );
    assert.equal(ingress.rules?.[0]?.http?.paths[0]?.backend.service?.port?.name, 'http');
    const { config } = await loadPodConfig(objects);
    assert.equal(config.publicURL, 'https://bastion.example.com');
  });

  test('host routing adds the wildcard and route hosts to the Ingress and the HTTPRoute', async () => {
    const objects = await render({ valuesFiles: ['ci/host-routing-values.yaml'] });
    const hosts = ['bastion.apps.example.com', '*.apps.example.com', 'grafana.apps.example.com'];
    assert.deepEqual(
      find<IIngress>(objects, 'Ingress').spec?.rules?.map((r) => r.host),
      hosts,
    );
    const route = find<{ spec: { hostnames: string[]; rules: { backendRefs: unknown[] }[] } }>(
      objects,
      'HTTPRoute',
    );
    assert.deepEqual(route.spec.hostnames, hosts);
    assert.deepEqual(route.spec.rules[0]?.backendRefs, [{ name: 'bastion-kube-bastion', port: 80 }]);
  });

  test('NetworkPolicy: in from the ingress controller, out to DNS, API server, IdP (no metadata) and team namespaces', async () => {
    const policy = find<INetworkPolicy>(
      await render({ valuesFiles: ['ci/network-policy-values.yaml'] }),
      'NetworkPolicy',
    ).spec!;
    assert.deepEqual(policy.policyTypes, ['Ingress', 'Egress']);
    const publicIn = policy.ingress?.[0];
    assert.deepEqual(publicIn?.from?.[0]?.namespaceSelector, {
      matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' },
    });
    assert.deepEqual(publicIn?.ports, [{ port: 'http', protocol: 'TCP' }]);
    const egress = JSON.stringify(policy.egress);
    assert.match(egress, /"port":53,"protocol":"UDP"/);
    assert.match(egress, /"cidr":"172.18.0.2\/32"/);
    assert.match(egress, /"except":\["169.254.0.0\/16"\]/);
    assert.match(egress, /"values":\["team-a","team-b"\]/);
    assert.match(egress, /"port":6379/);
  });

  test('NetworkPolicy with nodeProxy lets the gateway reach the kubelets, and only there', async () => {
    const objects = await render({ valuesFiles: ['ci/network-policy-values.yaml'] });
    assert.deepEqual(await validateAll(objects), []);
    const egress = find<INetworkPolicy>(objects, 'NetworkPolicy').spec!.egress ?? [];
    const kubelet = egress.filter((rule) => rule.ports?.some((p) => p.port === 10250));
    assert.deepEqual(
      kubelet,
      [{ to: [{ ipBlock: { cidr: '172.18.0.0/24' } }], ports: [{ port: 10250, protocol: 'TCP' }] }],
      'one rule: the node subnet on the kubelet port',
    );

    const withoutNodeProxy = await render({
      valuesFiles: ['ci/network-policy-values.yaml'],
      set: { 'config.authorization.nodeProxy': false },
    });
    assert.doesNotMatch(
      JSON.stringify(find<INetworkPolicy>(withoutNodeProxy, 'NetworkPolicy').spec!.egress),
      /10250|172\.18\.0\.0\/24/,
      'no kubelet egress unless nodeProxy is on',
    );

    const otherPort = await render({
      valuesFiles: ['ci/network-policy-values.yaml'],
      set: { 'networkPolicy.nodes.ports[0]': 10255 },
    });
    const moved = find<INetworkPolicy>(otherPort, 'NetworkPolicy').spec!.egress?.find((rule) =>
      rule.ports?.some((p) => p.port === 10255),
    );
    assert.deepEqual(moved?.to, [{ ipBlock: { cidr: '172.18.0.0/24' } }], 'a kubelet on another port');
  });

  test('NetworkPolicy with nodeProxy but no node addresses is refused, saying which value to set', async () => {
    const result = await renderRaw({
      set: { 'networkPolicy.enabled': true, 'config.authorization.nodeProxy': true },
    });
    assert.notEqual(result.code, 0, 'a policy that cuts off the kubelets must not render');
    assert.match(result.stderr, /nodeProxy is on[^\n]*set networkPolicy\.nodes\.cidrs/);
    const typo = await renderRaw({ set: { 'networkPolicy.nodes.cidr': '10.0.0.0/8' } });
    assert.match(typo.stderr, /at '\/networkPolicy\/nodes': additional properties 'cidr'/);
  });

  test('NetworkPolicy with its defaults is valid and lets the API server ports out to any address', async () => {
    const objects = await render({ set: { 'networkPolicy.enabled': true } });
    assert.deepEqual(await validateAll(objects), []);
    const policy = find<INetworkPolicy>(objects, 'NetworkPolicy').spec!;
    const apiServer = policy.egress?.find((rule) => rule.ports?.some((p) => p.port === 6443));
    assert.ok(apiServer && apiServer.to === undefined, 'no cidrs listed: any address on 443/6443');
  });

  test('ServiceMonitor scrapes /metrics on the admin port', async () => {
    type Monitor = { spec: { endpoints: { port: string; path: string }[] } };
    const monitor = find<Monitor>(
      await render({ valuesFiles: ['ci/network-policy-values.yaml'] }),
      'ServiceMonitor',
    );
    assert.deepEqual(monitor.spec.endpoints[0]?.port, 'admin');
    assert.equal(monitor.spec.endpoints[0]?.path, '/metrics');
    assert.equal(monitor.metadata.labels?.release, 'prometheus');
  });
});

describe('helm chart: what the admin reads', { skip: skipWithoutHelm }, () => {
  test('NOTES give the URL, the redirect URI to register and how to grant a team access', async () => {
    const result = await helm([
      'install',
      RELEASE,
      CHART,
      '--dry-run=client',
      '--namespace',
      NAMESPACE,
      ...valuesArgs({ valuesFiles: ['ci/ingress-tls-values.yaml'] }),
    ]);
    assert.equal(result.code, 0, result.stderr);
    const notes = result.stdout.slice(result.stdout.indexOf('NOTES:'));
    assert.match(notes, /https:\/\/bastion\.example\.com\/\n/);
    assert.match(
      notes,
      /Register this redirect URI[^\n]*\n\s+https:\/\/bastion\.example\.com\/auth\/callback/,
    );
    assert.match(notes, /create role bastion-services --resource=services\/proxy/);
    assert.match(notes, /create rolebinding [^\n]*--role=bastion-services --group=/);
  });
});

test('values.schema.json carries the current config schema (else run `npm run docs:config`)', () => {
  const current = readFileSync(VALUES_SCHEMA, 'utf8');
  assert.ok(
    current === renderValuesSchema(current),
    'helm/kube-bastion/values.schema.json is stale: run `npm run docs:config`',
  );
});

test('the chart version and appVersion follow package.json', () => {
  const chart = parse(readFileSync(join(CHART, 'Chart.yaml'), 'utf8'));
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  assert.equal(chart.appVersion, pkg.version);
  assert.equal(chart.version, pkg.version);
});

test('the chart README documents every top-level value', () => {
  const readme = readFileSync(join(CHART, 'README.md'), 'utf8');
  const table = readme
    .slice(readme.indexOf('## Values'))
    .split('\n')
    .filter((line) => line.startsWith('| `'));
  const values = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8'));
  const documented = (key: string) =>
    table.some((row) => row.split(' | ')[0].match(new RegExp(`\`${key}[.\`]`)));
  const missing = Object.keys(values).filter((key) => !documented(key));
  assert.deepEqual(missing, [], 'add these keys to the values table in helm/kube-bastion/README.md');
});
