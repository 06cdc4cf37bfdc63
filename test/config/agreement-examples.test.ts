/**
 * The configs people copy — the reference's example, the README's, docs/ci.md's,
 * the install guide's chart values, every chart CI values file (rendered by helm,
 * as the pod sees it) and the demo's — fed to `check-config` and `serve` alike.
 * Each is run as written except for what only this machine needs (runnable():
 * loopback ports, the world's IdP, the Secret mount), and each is expected to be
 * accepted, or refused for a stated reason.
 */
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { exampleConfig } from '../../scripts/gen-config-docs.js';
import { demoConfigInput } from '../../src/demo/config.js';
import { CHART, render, ROOT, skipWithoutHelm } from '../helm/helm-tool.js';
import { writePodFiles } from '../helm/pod-config.js';
import { agreementTests, runnable, writtenFixture, type Case } from './corpus.js';

const yamlBlocks = (doc: string) =>
  [...readFileSync(join(ROOT, doc), 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g)].map(
    (m) => parse(m[1]) as Record<string, unknown>,
  );

const config = (name: string, raw: Record<string, unknown>): Case => ({
  name,
  fixture: (world, dir) => writtenFixture(name, dir, runnable(raw, world)),
});

/** The chart's defaults configure no authentication method: the pod refuses to start until the admin adds one. */
const NO_AUTHENTICATION = ['authentication'];

/** Chart values (a file of the chart, or made in `dir`), rendered by helm; the files as the pod would see them. */
const chart = (name: string, values: string | ((dir: string) => string), refuse?: string[]): Case => ({
  name,
  refuse,
  async fixture(world, dir) {
    // render() takes values files relative to the chart.
    const file = typeof values === 'string' ? values : relative(CHART, values(dir));
    const pod = writePodFiles(await render({ valuesFiles: [file] }), mkdtempSync(join(dir, 'pod-')));
    const raw = parse(readFileSync(pod.file, 'utf8')) as Record<string, unknown>;
    return writtenFixture(name, dir, runnable(raw, world), { env: pod.env });
  },
});

/** A values block of a doc, written as a values file into `dir`. */
const valuesBlock = (doc: string, index: number) => (dir: string) => {
  const file = join(mkdtempSync(join(dir, 'values-')), 'values.yaml');
  writeFileSync(file, JSON.stringify(yamlBlocks(doc)[index]));
  return file;
};

const [ciIssuer, , , ciServiceAccounts] = yamlBlocks('docs/ci.md');
const cases: Case[] = [
  config('docs/configuration.md: the example', exampleConfig),
  config('README.md: a small one', yamlBlocks('README.md')[0]),
  config('docs/ci.md: the GitHub Actions issuer and its rules', ciIssuer),
  config('docs/ci.md: ServiceAccount tokens', ciServiceAccounts),
  {
    name: 'the demo',
    fixture: (world, dir) =>
      writtenFixture(
        'the demo',
        dir,
        runnable(
          demoConfigInput({
            port: 0,
            issuer: world.idp,
            clientID: 'kube-bastion-demo',
            clientSecret: 'a-demo-client-secret',
            upstreams: { notes: 8081, whoami: 8082, echo: 8083 },
          }),
          world,
        ),
      ),
  },
];

const ciValues = readdirSync(join(CHART, 'ci')).filter((f) => f.endsWith('.yaml'));
const refusedCI: Record<string, string[]> = {
  'defaults-values.yaml': NO_AUTHENTICATION,
  'hpa-pdb-values.yaml': NO_AUTHENTICATION,
  'network-policy-values.yaml': NO_AUTHENTICATION,
  'host-routing-values.yaml': NO_AUTHENTICATION,
  'tunnels-values.yaml': NO_AUTHENTICATION,
};
if (skipWithoutHelm) test('the chart’s values files', { skip: skipWithoutHelm }, () => {});
else
  cases.push(
    ...ciValues.map((f) => chart(`helm/kube-bastion/ci/${f}`, `ci/${f}`, refusedCI[f])),
    chart('docs/install.md: the values of step 4', valuesBlock('docs/install.md', 0)),
    chart('docs/install.md: bearer tokens from GitHub Actions', valuesBlock('docs/install.md', 1)),
  );

agreementTests('check-config and serve on the examples people copy', cases);
